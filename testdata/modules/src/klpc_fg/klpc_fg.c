// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_fg: a non-replace patch on vmlinux meminfo_proc_show (f) and
 * loadavg_proc_show (g). With klpc_g enabled after it, only the
 * meminfo_proc_show half of this patch stays in effect.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int klpc_fg_meminfo_show(struct seq_file *m, void *v)
{
	seq_puts(m, "MemTotal: 0 kB\n");
	return 0;
}

static int klpc_fg_loadavg_show(struct seq_file *m, void *v)
{
	seq_puts(m, "0.00 0.00 0.00 1/1 1\n");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "meminfo_proc_show",
		.new_func = klpc_fg_meminfo_show,
	},
	{
		.old_name = "loadavg_proc_show",
		.new_func = klpc_fg_loadavg_show,
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

static int __init klpc_fg_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_fg_exit(void)
{
}

module_init(klpc_fg_init);
module_exit(klpc_fg_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: meminfo_proc_show and loadavg_proc_show");
MODULE_INFO(livepatch, "Y");
