// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_overlap_b: second of two non-replace patches on vmlinux
 * cmdline_proc_show. Loaded together with klpc_overlap_a, the patch enabled
 * last owns /proc/cmdline.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int klpc_b_cmdline_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klpc_overlap_b\n");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = klpc_b_cmdline_show,
	},
	{ }
};

static struct klp_object objs[] = {
	{
		/* A NULL name selects vmlinux. */
		.funcs = funcs,
	},
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init klpc_overlap_b_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_overlap_b_exit(void)
{
}

module_init(klpc_overlap_b_init);
module_exit(klpc_overlap_b_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: cmdline_proc_show, no replace (b)");
MODULE_INFO(livepatch, "Y");
