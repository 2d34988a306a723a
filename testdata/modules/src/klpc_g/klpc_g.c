// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_g: a non-replace patch on vmlinux loadavg_proc_show only. Enabled
 * after klpc_fg, it shadows klpc_fg's loadavg_proc_show.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int klpc_g_loadavg_show(struct seq_file *m, void *v)
{
	seq_puts(m, "1.00 1.00 1.00 1/1 1\n");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "loadavg_proc_show",
		.new_func = klpc_g_loadavg_show,
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

static int __init klpc_g_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_g_exit(void)
{
}

module_init(klpc_g_init);
module_exit(klpc_g_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: loadavg_proc_show");
MODULE_INFO(livepatch, "Y");
