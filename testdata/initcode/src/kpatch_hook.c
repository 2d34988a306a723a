// SPDX-License-Identifier: GPL-2.0
/*
 * Init function shaped like kpatch-build's livepatch hook: the patch, its
 * objects and its funcs are built at module init from a table of changed
 * functions, and replace is set from KLP_REPLACE_ENABLE, which kpatch-build
 * -R defines as false.
 *
 * The patch pointer is a static global, as in kpatch. __kpatch_funcs and
 * __kpatch_funcs_end come from kpatch's linker script, so they stay undefined
 * here.
 */
#ifdef __KERNEL__
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/livepatch.h>
#else
#include "klp_sample.h"
#endif

#ifndef KLP_REPLACE_ENABLE
#define KLP_REPLACE_ENABLE true
#endif

struct sample_patch_func {
	unsigned long new_addr;
	unsigned long new_size;
	unsigned long old_addr;
	unsigned long old_size;
	unsigned long sympos;
	const char *name;
	const char *objname;
};

struct sample_object {
	struct list_head list;
	struct list_head funcs;
	const char *name;
	int funcs_nr;
};

struct sample_func {
	struct list_head list;
	struct sample_patch_func *kfunc;
};

extern struct sample_patch_func __kpatch_funcs[], __kpatch_funcs_end[];

static struct klp_patch *lpatch;
static LIST_HEAD(patch_objects);
static int patch_objects_nr;

static struct sample_object *sample_find_object(const char *name)
{
	struct sample_object *object;

	list_for_each_entry(object, &patch_objects, list)
		if (!strcmp(object->name, name))
			return object;

	object = kzalloc(sizeof(*object), GFP_KERNEL);
	if (!object)
		return NULL;
	object->name = name;
	INIT_LIST_HEAD(&object->funcs);
	list_add(&object->list, &patch_objects);
	patch_objects_nr++;
	return object;
}

static int sample_add_func(struct sample_patch_func *kfunc)
{
	struct sample_object *object;
	struct sample_func *func;

	object = sample_find_object(kfunc->objname);
	if (!object)
		return -ENOMEM;

	func = kzalloc(sizeof(*func), GFP_KERNEL);
	if (!func)
		return -ENOMEM;
	func->kfunc = kfunc;
	list_add(&func->list, &object->funcs);
	object->funcs_nr++;
	return 0;
}

#ifdef SAMPLE_FREE_HELPER
static noinline void sample_free_patch(struct klp_patch *patch)
{
	struct klp_object *lobject;

	for (lobject = patch->objs; lobject->funcs; lobject++)
		kfree(lobject->funcs);
	kfree(patch->objs);
	kfree(patch);
}
#endif

static int __init sample_patch_init(void)
{
	struct sample_patch_func *kfunc;
	struct klp_object *lobjects, *lobject;
	struct klp_func *lfuncs, *lfunc;
	struct sample_object *object;
	struct sample_func *func;
	int ret, i, j;

	for (kfunc = __kpatch_funcs; kfunc != __kpatch_funcs_end; kfunc++) {
		ret = sample_add_func(kfunc);
		if (ret)
			return ret;
	}

	lpatch = kzalloc(sizeof(*lpatch), GFP_KERNEL);
	if (!lpatch)
		return -ENOMEM;

	lobjects = kcalloc(patch_objects_nr + 1, sizeof(*lobjects), GFP_KERNEL);
	if (!lobjects)
		goto out_patch;
	lpatch->mod = THIS_MODULE;
	lpatch->objs = lobjects;

	i = 0;
	list_for_each_entry(object, &patch_objects, list) {
		lobject = &lobjects[i];
		lobject->name = strcmp(object->name, "vmlinux") ? object->name : NULL;

		lfuncs = kcalloc(object->funcs_nr + 1, sizeof(*lfuncs), GFP_KERNEL);
		if (!lfuncs)
			goto out_objects;
		lobject->funcs = lfuncs;

		j = 0;
		list_for_each_entry(func, &object->funcs, list) {
			lfunc = &lfuncs[j];
			lfunc->old_name = func->kfunc->name;
			lfunc->new_func = (void *)func->kfunc->new_addr;
			lfunc->old_sympos = func->kfunc->sympos;
			j++;
		}
		i++;
	}

	lpatch->replace = KLP_REPLACE_ENABLE;

	ret = klp_enable_patch(lpatch);
#ifdef SAMPLE_FREE_HELPER
	/*
	 * kpatch's hook frees a patch that failed to enable through a
	 * function of its own, after the kernel has read replace.
	 */
	if (ret) {
		sample_free_patch(lpatch);
		return ret;
	}
#else
	if (ret)
		goto out_objects;
#endif
	return 0;

out_objects:
	for (lobject = lobjects; lobject->funcs; lobject++)
		kfree(lobject->funcs);
	kfree(lobjects);
out_patch:
	kfree(lpatch);
	return -ENOMEM;
}

static void __exit sample_patch_exit(void)
{
	kfree(lpatch);
}

module_init(sample_patch_init);
module_exit(sample_patch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
