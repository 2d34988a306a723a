// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_modobj: a non-replace patch of four functions of the module
 * klpc_target (object "klpc_target"):
 *
 *   klpc_target_get       exported global, old_sympos 0
 *   klpc_target_check     static, one copy, old_sympos 0
 *   klpc_target_reset     static, two copies, old_sympos 2: the copy in
 *                         klpc_target_helper.c
 *   klpc_target_untraced  notrace, so ftrace has no location for it:
 *                         klp_patch_func() fails with "failed to find
 *                         location for function", at klp_enable_patch()
 *                         when klpc_target is already loaded and at the
 *                         load of klpc_target otherwise
 *
 * The first three resolve in the klpc_target.ko built with this module.
 * The patch calls nothing from klpc_target, so modpost adds no depends.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>

static int klpc_modobj_get(void)
{
	return 42;
}

static bool klpc_modobj_check(int value)
{
	return value >= 0 && value < 100;
}

static void klpc_modobj_reset(void)
{
}

static int klpc_modobj_untraced(void)
{
	return 1;
}

static struct klp_func target_funcs[] = {
	{
		.old_name = "klpc_target_get",
		.new_func = klpc_modobj_get,
	},
	{
		.old_name = "klpc_target_check",
		.new_func = klpc_modobj_check,
	},
	{
		.old_name = "klpc_target_reset",
		.new_func = klpc_modobj_reset,
		.old_sympos = 2,
	},
	{
		.old_name = "klpc_target_untraced",
		.new_func = klpc_modobj_untraced,
	},
	{ }
};

static struct klp_object objs[] = {
	{
		.name = "klpc_target",
		.funcs = target_funcs,
	},
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init klpc_modobj_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_modobj_exit(void)
{
}

module_init(klpc_modobj_init);
module_exit(klpc_modobj_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: functions of the klpc_target module");
MODULE_INFO(livepatch, "Y");
