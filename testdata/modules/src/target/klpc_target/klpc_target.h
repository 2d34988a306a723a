/* SPDX-License-Identifier: GPL-2.0 */
/* Global functions of the klpc_target module, shared by its two files. */
#ifndef KLPC_TARGET_H
#define KLPC_TARGET_H

int klpc_target_get(void);
int klpc_target_set(int value);
int klpc_target_helper_reset(void);

#endif
