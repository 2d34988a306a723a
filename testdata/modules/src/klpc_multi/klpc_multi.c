// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_multi: one non-replace patch with two objects.
 *
 * vmlinux: cmdline_proc_show and version_proc_show, both with old_sympos 0.
 * ext4:    ext4_statfs (old_sympos 0) and ext4_es_is_delayed (old_sympos 2;
 *          ext4.ko of Debian 6.12.118 has three local copies of this inline
 *          helper), plus a pre_patch and a post_unpatch callback.
 *
 * The ext4 replacements only have the right calling convention. This
 * module is a fixture for static analysis and must not be loaded.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>
#include <linux/statfs.h>
#include <linux/utsname.h>

struct extent_status;

static int klpc_multi_cmdline_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klpc_multi\n");
	return 0;
}

static int klpc_multi_version_show(struct seq_file *m, void *v)
{
	seq_printf(m, "klpc_multi %s\n", utsname()->release);
	return 0;
}

static int klpc_multi_ext4_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	return -ENOSYS;
}

static int klpc_multi_ext4_es_is_delayed(struct extent_status *es)
{
	return 0;
}

static int klpc_multi_ext4_pre_patch(struct klp_object *obj)
{
	pr_info("klpc_multi: patching %s\n", obj->name);
	return 0;
}

static void klpc_multi_ext4_post_unpatch(struct klp_object *obj)
{
	pr_info("klpc_multi: unpatched %s\n", obj->name);
}

static struct klp_func vmlinux_funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = klpc_multi_cmdline_show,
	},
	{
		.old_name = "version_proc_show",
		.new_func = klpc_multi_version_show,
		.old_sympos = 0,
	},
	{ }
};

static struct klp_func ext4_funcs[] = {
	{
		.old_name = "ext4_statfs",
		.new_func = klpc_multi_ext4_statfs,
	},
	{
		.old_name = "ext4_es_is_delayed",
		.new_func = klpc_multi_ext4_es_is_delayed,
		.old_sympos = 2,
	},
	{ }
};

static struct klp_object objs[] = {
	{
		.funcs = vmlinux_funcs,
	},
	{
		.name = "ext4",
		.funcs = ext4_funcs,
		.callbacks = {
			.pre_patch = klpc_multi_ext4_pre_patch,
			.post_unpatch = klpc_multi_ext4_post_unpatch,
		},
	},
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
	.replace = false,
};

static int __init klpc_multi_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_multi_exit(void)
{
}

module_init(klpc_multi_init);
module_exit(klpc_multi_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: vmlinux and ext4 objects with callbacks");
MODULE_INFO(livepatch, "Y");
