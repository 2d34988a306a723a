// SPDX-License-Identifier: GPL-2.0
/*
 * Init function that allocates a klp_patch but never stores replace, as
 * kpatch's hook did before kpatch learned about atomic replace.
 */
#ifdef __KERNEL__
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/livepatch.h>
#else
#include "klp_sample.h"
#endif

extern struct klp_object sample_objs[];

static int __init sample_nostore_init(void)
{
	struct klp_patch *patch;

	patch = kzalloc(sizeof(*patch), GFP_KERNEL);
	if (!patch)
		return -ENOMEM;

	patch->mod = THIS_MODULE;
	patch->objs = sample_objs;

	return klp_enable_patch(patch);
}

module_init(sample_nostore_init);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
