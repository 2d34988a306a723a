// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_states_down: a replace patch with state id 7 at version 1. Loaded
 * after klpc_states (id 7 at version 2), klp_is_patch_compatible() rejects
 * it because the version goes down and because state 0x1234 is missing.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int klpc_states_down_cmdline_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klpc_states_down\n");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = klpc_states_down_cmdline_show,
	},
	{ }
};

static struct klp_object objs[] = {
	{
		.funcs = funcs,
	},
	{ }
};

static struct klp_state states[] = {
	{
		.id = 7,
		.version = 1,
	},
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
	.states = states,
	.replace = true,
};

static int __init klpc_states_down_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_states_down_exit(void)
{
}

module_init(klpc_states_down_init);
module_exit(klpc_states_down_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: replace patch with state 7 v1");
MODULE_INFO(livepatch, "Y");
