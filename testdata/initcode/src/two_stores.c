// SPDX-License-Identifier: GPL-2.0
/*
 * Init function that stores replace twice with different values, on two
 * paths chosen by a module parameter. A reader of the code alone cannot tell
 * which value the kernel will see.
 */
#ifdef __KERNEL__
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/livepatch.h>
#else
#include "klp_sample.h"
#endif

static bool cumulative = true;
module_param(cumulative, bool, 0444);
MODULE_PARM_DESC(cumulative, "replace all earlier livepatches");

extern struct klp_object sample_objs[];

static int __init sample_two_init(void)
{
	struct klp_patch *patch;

	patch = kzalloc(sizeof(*patch), GFP_KERNEL);
	if (!patch)
		return -ENOMEM;

	patch->mod = THIS_MODULE;
	patch->objs = sample_objs;
	if (cumulative) {
		patch->replace = true;
		pr_info("replacing all earlier livepatches\n");
	} else {
		patch->replace = false;
		pr_info("stacking on earlier livepatches\n");
	}

	return klp_enable_patch(patch);
}

module_init(sample_two_init);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
