// SPDX-License-Identifier: GPL-2.0
/*
 * Init function shaped like the kernel's scripts/livepatch/init.c (klp-build,
 * 6.19): klp_object and klp_func arrays are allocated from the
 * klp_object_ext table that klp-build places in the module, and replace is
 * true unless KLP_NO_REPLACE is defined (klp-build --no-replace).
 *
 * __start_klp_objects and __stop_klp_objects come from the 6.19 module linker
 * script, so they stay undefined here.
 */
#ifdef __KERNEL__
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/livepatch.h>
#else
#include "klp_sample.h"
#endif

struct sample_func_ext {
	const char *old_name;
	void *new_func;
	unsigned long sympos;
};

struct sample_object_ext {
	const char *name;
	struct sample_func_ext *funcs;
	struct klp_callbacks callbacks;
	unsigned int nr_funcs;
};

extern struct sample_object_ext __start_klp_objects[], __stop_klp_objects[];

static struct klp_patch *patch;

static int __init sample_mod_init(void)
{
	struct sample_object_ext *obj_exts = __start_klp_objects;
	struct klp_object *objs;
	unsigned int nr_objs;
	int ret;

	nr_objs = __stop_klp_objects - __start_klp_objects;
	if (!nr_objs) {
		pr_err("nothing to patch!\n");
		return -EINVAL;
	}

	patch = kzalloc(sizeof(*patch), GFP_KERNEL);
	if (!patch)
		return -ENOMEM;

	objs = kzalloc(sizeof(*objs) * (nr_objs + 1), GFP_KERNEL);
	if (!objs) {
		ret = -ENOMEM;
		goto err_free_patch;
	}

	for (unsigned int i = 0; i < nr_objs; i++) {
		struct sample_object_ext *obj_ext = obj_exts + i;
		struct sample_func_ext *funcs_ext = obj_ext->funcs;
		unsigned int nr_funcs = obj_ext->nr_funcs;
		struct klp_object *obj = objs + i;
		struct klp_func *funcs;

		funcs = kzalloc(sizeof(*funcs) * (nr_funcs + 1), GFP_KERNEL);
		if (!funcs) {
			ret = -ENOMEM;
			for (unsigned int j = 0; j < i; j++)
				kfree(objs[j].funcs);
			goto err_free_objs;
		}

		for (unsigned int j = 0; j < nr_funcs; j++) {
			funcs[j].old_name = funcs_ext[j].old_name;
			funcs[j].new_func = funcs_ext[j].new_func;
			funcs[j].old_sympos = funcs_ext[j].sympos;
		}

		obj->name = obj_ext->name;
		obj->funcs = funcs;
		obj->callbacks = obj_ext->callbacks;
	}

	patch->mod = THIS_MODULE;
	patch->objs = objs;
#ifdef KLP_NO_REPLACE
	patch->replace = false;
#else
	patch->replace = true;
#endif

	return klp_enable_patch(patch);

err_free_objs:
	kfree(objs);
err_free_patch:
	kfree(patch);
	return ret;
}

static void __exit sample_mod_exit(void)
{
}

module_init(sample_mod_init);
module_exit(sample_mod_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
