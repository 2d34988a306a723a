// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_cumulative: a replace patch on vmlinux uptime_proc_show and
 * cmdline_proc_show. It declares no states, so the kernel rejects it while
 * a patch with states (klpc_states) is installed, and it reverts every
 * function of older patches that it does not list itself.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int klpc_cumulative_uptime_show(struct seq_file *m, void *v)
{
	seq_puts(m, "0.00 0.00\n");
	return 0;
}

static int klpc_cumulative_cmdline_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klpc_cumulative\n");
	return 0;
}

static struct klp_func cumulative_funcs[] = {
	{
		.old_name = "uptime_proc_show",
		.new_func = klpc_cumulative_uptime_show,
	},
	{
		.old_name = "cmdline_proc_show",
		.new_func = klpc_cumulative_cmdline_show,
	},
	{ }
};

static struct klp_object cumulative_objs[] = {
	{
		.funcs = cumulative_funcs,
	},
	{ }
};

static struct klp_patch cumulative_patch = {
	.mod = THIS_MODULE,
	.objs = cumulative_objs,
	.replace = true,
};

static int __init klpc_cumulative_init(void)
{
	return klp_enable_patch(&cumulative_patch);
}

static void __exit klpc_cumulative_exit(void)
{
}

module_init(klpc_cumulative_init);
module_exit(klpc_cumulative_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: cumulative replace patch");
MODULE_INFO(livepatch, "Y");
