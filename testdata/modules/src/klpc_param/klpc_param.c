// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_param: the replace mode comes from a module parameter, as in the
 * kernel selftest module test_klp_atomic_replace. The replace byte of the
 * static klp_patch stays 0 in the file; init copies the parameter into it,
 * so "insmod klpc_param.ko replace=1" loads a replace patch. The default
 * is 0.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int replace;
module_param(replace, int, 0644);
MODULE_PARM_DESC(replace, "replace (default=0)");

static int klpc_param_uptime_show(struct seq_file *m, void *v)
{
	seq_puts(m, "0.00 0.00\n");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "uptime_proc_show",
		.new_func = klpc_param_uptime_show,
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

static int __init klpc_param_init(void)
{
	patch.replace = replace;
	return klp_enable_patch(&patch);
}

static void __exit klpc_param_exit(void)
{
}

module_init(klpc_param_init);
module_exit(klpc_param_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: replace mode from a module parameter");
MODULE_INFO(livepatch, "Y");
