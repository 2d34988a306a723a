// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_states: a replace patch that declares two system states,
 * id 7 at version 2 and id 0x1234 at version 1.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int klpc_states_cmdline_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klpc_states\n");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = klpc_states_cmdline_show,
	},
	{ }
};

static struct klp_object objs[] = {
	{
		.funcs = funcs,
	},
	{ }
};

/* The array ends at the first entry with id 0. */
static struct klp_state states[] = {
	{
		.id = 7,
		.version = 2,
	},
	{
		.id = 0x1234,
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

static int __init klpc_states_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_states_exit(void)
{
}

module_init(klpc_states_init);
module_exit(klpc_states_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: replace patch with states 7 v2 and 0x1234 v1");
MODULE_INFO(livepatch, "Y");
