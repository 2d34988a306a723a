// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_cross_states: a replace patch on vmlinux uptime_proc_show and
 * cmdline_proc_show with states id 7 at version 2 and id 0x1234 at
 * version 1, built for arm64, ppc64le and s390x.
 */
#include "klpc_cross.h"

static int klpc_cross_states_uptime_show(struct seq_file *m, void *v)
{
	seq_puts(m, "0.00 0.00\n");
	return 0;
}

static int klpc_cross_states_cmdline_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klpc_cross_states\n");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "uptime_proc_show",
		.new_func = klpc_cross_states_uptime_show,
	},
	{
		.old_name = "cmdline_proc_show",
		.new_func = klpc_cross_states_cmdline_show,
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

int __init init_module(void)
{
	return klp_enable_patch(&patch);
}

void __exit cleanup_module(void)
{
}

KLPC_MODINFO(license, "GPL");
KLPC_MODINFO(livepatch, "Y");
KLPC_MODULE(klpc_cross_states, init_module, cleanup_module);
