// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_cross_modobj: a non-replace patch with a vmlinux object
 * (version_proc_show) and an ext4 object (ext4_statfs with old_sympos 0,
 * ext4_es_is_delayed with old_sympos 2) that sets all four callbacks,
 * built for arm64, ppc64le and s390x.
 *
 * The ext4 replacements only have the right calling convention. This
 * module is a fixture for static analysis and must not be loaded.
 */
#include "klpc_cross.h"

struct dentry;
struct kstatfs;
struct extent_status;

static int klpc_cross_modobj_version_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klpc_cross_modobj\n");
	return 0;
}

static int klpc_cross_modobj_ext4_statfs(struct dentry *dentry,
					 struct kstatfs *buf)
{
	return -38; /* -ENOSYS */
}

static int klpc_cross_modobj_ext4_es_is_delayed(struct extent_status *es)
{
	return 0;
}

static int klpc_cross_modobj_pre_patch(struct klp_object *obj)
{
	_printk("klpc_cross_modobj: pre_patch %s\n", obj->name);
	return 0;
}

static void klpc_cross_modobj_post_patch(struct klp_object *obj)
{
	_printk("klpc_cross_modobj: post_patch %s\n", obj->name);
}

static void klpc_cross_modobj_pre_unpatch(struct klp_object *obj)
{
	_printk("klpc_cross_modobj: pre_unpatch %s\n", obj->name);
}

static void klpc_cross_modobj_post_unpatch(struct klp_object *obj)
{
	_printk("klpc_cross_modobj: post_unpatch %s\n", obj->name);
}

static struct klp_func vmlinux_funcs[] = {
	{
		.old_name = "version_proc_show",
		.new_func = klpc_cross_modobj_version_show,
	},
	{ }
};

static struct klp_func ext4_funcs[] = {
	{
		.old_name = "ext4_statfs",
		.new_func = klpc_cross_modobj_ext4_statfs,
	},
	{
		.old_name = "ext4_es_is_delayed",
		.new_func = klpc_cross_modobj_ext4_es_is_delayed,
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
			.pre_patch = klpc_cross_modobj_pre_patch,
			.post_patch = klpc_cross_modobj_post_patch,
			.pre_unpatch = klpc_cross_modobj_pre_unpatch,
			.post_unpatch = klpc_cross_modobj_post_unpatch,
		},
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
KLPC_MODULE(klpc_cross_modobj, init_module, cleanup_module);
