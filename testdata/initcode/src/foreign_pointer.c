// SPDX-License-Identifier: GPL-2.0
/*
 * Init function whose klp_patch comes from a helper that is not a kmalloc
 * call. The store to replace goes through a pointer that the analysis cannot
 * tie to an allocation, so replace must stay unknown.
 */
#ifdef __KERNEL__
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/livepatch.h>
#else
#include "klp_sample.h"
#endif

extern struct klp_patch *sample_patch_storage(void);
extern struct klp_object sample_objs[];

static int __init sample_foreign_init(void)
{
	struct klp_patch *patch;
	void *scratch;

	scratch = kzalloc(64, GFP_KERNEL);
	if (!scratch)
		return -ENOMEM;
	kfree(scratch);

	patch = sample_patch_storage();
	if (!patch)
		return -ENOMEM;

	patch->mod = THIS_MODULE;
	patch->objs = sample_objs;
	patch->replace = true;

	return klp_enable_patch(patch);
}

module_init(sample_foreign_init);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
