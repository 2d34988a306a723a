// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_ambiguous: patches type_show with old_sympos 0 ("must be unique").
 * Many files of vmlinux define a static type_show (/proc/kallsyms of the
 * 6.18 x86_64 kernel these fixtures were built on lists ten), so
 * klp_find_object_symbol() reports "unresolvable ambiguity for symbol
 * 'type_show' in object 'vmlinux'" and klp_enable_patch() fails with
 * -EINVAL.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/device.h>
#include <linux/sysfs.h>

static ssize_t klpc_ambiguous_type_show(struct device *dev,
					struct device_attribute *attr,
					char *buf)
{
	return sysfs_emit(buf, "klpc_ambiguous\n");
}

static struct klp_func funcs[] = {
	{
		.old_name = "type_show",
		.new_func = klpc_ambiguous_type_show,
		.old_sympos = 0,
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

static int __init klpc_ambiguous_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_ambiguous_exit(void)
{
}

module_init(klpc_ambiguous_init);
module_exit(klpc_ambiguous_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: old_sympos 0 on a duplicated name");
MODULE_INFO(livepatch, "Y");
