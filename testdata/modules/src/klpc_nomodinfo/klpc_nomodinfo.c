// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_nomodinfo: complete klp structures but no MODULE_INFO(livepatch, "Y").
 * The module loader does not mark it as a livepatch module, so
 * klp_enable_patch() fails with -EINVAL ("module klpc_nomodinfo is not
 * marked as a livepatch module") and insmod fails.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int klpc_nomodinfo_version_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klpc_nomodinfo\n");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "version_proc_show",
		.new_func = klpc_nomodinfo_version_show,
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

static int __init klpc_nomodinfo_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_nomodinfo_exit(void)
{
}

module_init(klpc_nomodinfo_init);
module_exit(klpc_nomodinfo_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: klp structures without livepatch modinfo");
