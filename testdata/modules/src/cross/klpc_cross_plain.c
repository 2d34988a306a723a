// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_cross_plain: a non-replace patch on vmlinux cmdline_proc_show,
 * built for arm64, ppc64le and s390x.
 */
#include "klpc_cross.h"

static int klpc_cross_plain_cmdline_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klpc_cross_plain\n");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = klpc_cross_plain_cmdline_show,
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

int __init init_module(void)
{
	return klp_enable_patch(&patch);
}

void __exit cleanup_module(void)
{
}

KLPC_MODINFO(license, "GPL");
KLPC_MODINFO(livepatch, "Y");
KLPC_MODULE(klpc_cross_plain, init_module, cleanup_module);
