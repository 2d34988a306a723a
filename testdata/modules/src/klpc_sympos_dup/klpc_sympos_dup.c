// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_sympos_dup: patches type_show with old_sympos 2, the second
 * type_show of vmlinux in address order. kallsyms_on_each_symbol() walks
 * vmlinux symbols in that order, and klp_find_object_symbol() counts
 * matches as it goes.
 *
 * In the Debian 6.1.0-57-amd64 kernel that copy is the one in
 * kernel/reboot.c (/sys/kernel/reboot/type), whose signature the
 * replacement has. In Debian 6.12.118+deb12-amd64 the second copy is the
 * one in arch/x86/platform/efi/runtime-map.c, which takes other arguments:
 * the same old_sympos names a different function in each kernel.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>

static ssize_t klpc_sympos_dup_type_show(struct kobject *kobj,
					 struct kobj_attribute *attr,
					 char *buf)
{
	return sysfs_emit(buf, "klpc_sympos_dup\n");
}

static struct klp_func funcs[] = {
	{
		.old_name = "type_show",
		.new_func = klpc_sympos_dup_type_show,
		.old_sympos = 2,
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

static int __init klpc_sympos_dup_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_sympos_dup_exit(void)
{
}

module_init(klpc_sympos_dup_init);
module_exit(klpc_sympos_dup_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: old_sympos 2 on a duplicated name");
MODULE_INFO(livepatch, "Y");
