// SPDX-License-Identifier: GPL-2.0
/*
 * Second file of klpc_target. Its static klpc_target_reset has the same
 * name as the one in klpc_target_main.c, so the module's .symtab holds two
 * local FUNC symbols of that name: sympos 1 is the copy in
 * klpc_target_main.c, sympos 2 this one, in link order.
 */
#include <linux/kernel.h>

#include "klpc_target.h"

static int klpc_target_resets;

static noinline void klpc_target_reset(void)
{
	WRITE_ONCE(klpc_target_resets, READ_ONCE(klpc_target_resets) + 1);
}

int klpc_target_helper_reset(void)
{
	klpc_target_reset();
	return READ_ONCE(klpc_target_resets);
}
