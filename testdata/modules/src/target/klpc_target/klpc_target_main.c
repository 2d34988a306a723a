// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_target: an ordinary module, not a livepatch, that klpc_modobj
 * patches as object "klpc_target". Its functions cover the cases a check
 * of a module object meets:
 *
 *   klpc_target_get       global, EXPORT_SYMBOL
 *   klpc_target_set       global, not exported
 *   klpc_target_check     static, one copy
 *   klpc_target_reset     static, one copy in this file and one in
 *                         klpc_target_helper.c
 *   klpc_target_untraced  static and notrace: gcc emits no __fentry__
 *                         call, so the module has no __mcount_loc record
 *                         for it and ftrace cannot patch it
 *
 * The static functions are noinline so that each stays a symbol of its
 * own, and their bodies differ so that gcc's identical code folding
 * (-fipa-icf, on at -O2) cannot merge them.
 */
#include <linux/kernel.h>
#include <linux/module.h>

#include "klpc_target.h"

static int klpc_target_value;

static noinline bool klpc_target_check(int value)
{
	return value >= 0 && value < 1000;
}

static noinline void klpc_target_reset(void)
{
	WRITE_ONCE(klpc_target_value, 0);
}

static noinline notrace int klpc_target_untraced(void)
{
	return READ_ONCE(klpc_target_value) * 2 + 1;
}

int klpc_target_get(void)
{
	return READ_ONCE(klpc_target_value);
}
EXPORT_SYMBOL(klpc_target_get);

int klpc_target_set(int value)
{
	if (!klpc_target_check(value)) {
		klpc_target_reset();
		return -EINVAL;
	}
	WRITE_ONCE(klpc_target_value, value);
	return 0;
}

static int __init klpc_target_init(void)
{
	int err;

	err = klpc_target_set(1);
	if (err)
		return err;
	pr_info("klpc_target: value %d, untraced %d, resets %d\n",
		klpc_target_get(), klpc_target_untraced(),
		klpc_target_helper_reset());
	return 0;
}

static void __exit klpc_target_exit(void)
{
}

module_init(klpc_target_init);
module_exit(klpc_target_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: target module for klpc_modobj");
