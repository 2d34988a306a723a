// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_param_on: the replace mode comes from a module parameter, as in
 * klpc_param, but the parameter defaults to 1. The replace byte of the
 * static klp_patch is still 0 in the file, so a reader that takes that byte
 * instead of the parameter default gets the wrong mode.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int replace = 1;
module_param(replace, int, 0644);
MODULE_PARM_DESC(replace, "replace (default=1)");

static int klpc_param_on_uptime_show(struct seq_file *m, void *v)
{
	seq_puts(m, "0.00 0.00\n");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "uptime_proc_show",
		.new_func = klpc_param_on_uptime_show,
	},
	{ }
};

static struct klp_object objs[] = {
	{
		.funcs = funcs,
	},
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init klpc_param_on_init(void)
{
	patch.replace = replace;
	return klp_enable_patch(&patch);
}

static void __exit klpc_param_on_exit(void)
{
}

module_init(klpc_param_on_init);
module_exit(klpc_param_on_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: replace mode from a module parameter, default 1");
MODULE_INFO(livepatch, "Y");
