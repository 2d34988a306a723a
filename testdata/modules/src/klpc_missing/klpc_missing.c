// SPDX-License-Identifier: GPL-2.0
/*
 * klpc_missing: patches klpc_no_such_function, which no kernel defines.
 * klp_find_object_symbol() finds no match and klp_enable_patch() fails
 * with -EINVAL ("symbol 'klpc_no_such_function' not found in symbol
 * table").
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>

static void klpc_missing_replacement(void)
{
	pr_info("klpc_missing: replacement called\n");
}

static struct klp_func funcs[] = {
	{
		.old_name = "klpc_no_such_function",
		.new_func = klpc_missing_replacement,
	},
	{ }
};

static struct klp_object objs[] = {
	{
		.funcs = funcs,
	},
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init klpc_missing_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klpc_missing_exit(void)
{
}

module_init(klpc_missing_init);
module_exit(klpc_missing_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klpcheck fixture: function that exists in no kernel");
MODULE_INFO(livepatch, "Y");
