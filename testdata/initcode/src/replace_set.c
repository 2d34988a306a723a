// SPDX-License-Identifier: GPL-2.0
/*
 * Init function for the proposed replace_set field, an unsigned int that
 * takes the place of bool replace in struct klp_patch (same offset, 24). The
 * patch sets replace_set to 5, which the compiler emits as a 4-byte store.
 *
 * No released kernel has the field, so the struct is declared here and
 * klp_enable_patch is reached through an asm label to avoid a clash with the
 * kernel's prototype.
 */
#ifdef __KERNEL__
#include <linux/module.h>
#include <linux/slab.h>
#else
#include "klp_sample.h"
#endif

struct sample_func {
	const char *old_name;
	void *new_func;
	unsigned long old_sympos;
	void *old_func;
	char internal[160];
};

struct sample_object {
	const char *name;
	struct sample_func *funcs;
	void *callbacks[5];
	char internal[128];
};

struct sample_patch_rs {
	struct module *mod;
	struct sample_object *objs;
	void *states;
	unsigned int replace_set;
	char internal[192];
};

extern int sample_enable_patch(struct sample_patch_rs *patch) __asm__("klp_enable_patch");
extern const char *sample_old_names[];
extern void *sample_new_funcs[];
extern unsigned int sample_nr_funcs;

static int __init sample_rs_init(void)
{
	struct sample_patch_rs *patch;
	struct sample_object *objs;
	struct sample_func *funcs;
	unsigned int i;

	patch = kzalloc(sizeof(*patch), GFP_KERNEL);
	if (!patch)
		return -ENOMEM;

	objs = kzalloc(2 * sizeof(*objs), GFP_KERNEL);
	funcs = kzalloc((sample_nr_funcs + 1) * sizeof(*funcs), GFP_KERNEL);
	if (!objs || !funcs) {
		kfree(funcs);
		kfree(objs);
		kfree(patch);
		return -ENOMEM;
	}

	for (i = 0; i < sample_nr_funcs; i++) {
		funcs[i].old_name = sample_old_names[i];
		funcs[i].new_func = sample_new_funcs[i];
	}
	objs[0].funcs = funcs;

	patch->mod = THIS_MODULE;
	patch->objs = objs;
	patch->replace_set = 5;

	return sample_enable_patch(patch);
}

module_init(sample_rs_init);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
