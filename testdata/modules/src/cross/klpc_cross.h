/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Local declarations for the cross-architecture fixtures, which are built
 * with plain "gcc -O2 -c" because no arm64, ppc64le or s390x kernel headers
 * are installed.
 *
 * The external parts of the klp structures follow include/linux/livepatch.h
 * of the Debian 6.1 and 6.12 headers, a layout that dates from Linux 5.5:
 * the fields a patch module fills in come first, with the same offsets on
 * every 64-bit architecture. The internal parts
 * (kobjects, lists, flags) depend on the kernel configuration. Here each is
 * a byte array whose size build.sh passes per architecture, so the array
 * strides differ between the three targets and a reader cannot hard-code
 * one.
 */
#ifndef KLPC_CROSS_H
#define KLPC_CROSS_H

#include <stdbool.h>

#ifndef KLPC_FUNC_INTERNAL
#error "build.sh passes -DKLPC_FUNC_INTERNAL=<bytes>"
#endif
#ifndef KLPC_OBJECT_INTERNAL
#error "build.sh passes -DKLPC_OBJECT_INTERNAL=<bytes>"
#endif
#ifndef KLPC_PATCH_INTERNAL
#error "build.sh passes -DKLPC_PATCH_INTERNAL=<bytes>"
#endif
#ifndef KLPC_VERMAGIC
#error "build.sh passes -DKLPC_VERMAGIC=<string>"
#endif

struct seq_file;
struct klp_object;

/* Exported by the kernel and resolved when the module is loaded. */
extern void seq_puts(struct seq_file *m, const char *s);
extern int _printk(const char *fmt, ...);

struct klp_func {
	const char *old_name;		/* +0 */
	void *new_func;			/* +8 */
	unsigned long old_sympos;	/* +16 */
	unsigned char internal[KLPC_FUNC_INTERNAL];
};

struct klp_callbacks {
	int (*pre_patch)(struct klp_object *obj);	/* +0 */
	void (*post_patch)(struct klp_object *obj);	/* +8 */
	void (*pre_unpatch)(struct klp_object *obj);	/* +16 */
	void (*post_unpatch)(struct klp_object *obj);	/* +24 */
	bool post_unpatch_enabled;			/* +32 */
};

struct klp_object {
	const char *name;		/* +0, NULL for vmlinux */
	struct klp_func *funcs;		/* +8 */
	struct klp_callbacks callbacks;	/* +16 */
	unsigned char internal[KLPC_OBJECT_INTERNAL];
};

struct klp_state {
	unsigned long id;		/* +0 */
	unsigned int version;		/* +8 */
	void *data;			/* +16 */
};

struct module;

struct klp_patch {
	struct module *mod;		/* +0 */
	struct klp_object *objs;	/* +8 */
	struct klp_state *states;	/* +16 */
	bool replace;			/* +24 */
	unsigned char internal[KLPC_PATCH_INTERNAL];
};

extern int klp_enable_patch(struct klp_patch *patch);

/*
 * The head of struct module: name[MODULE_NAME_LEN] at +24 on 64-bit,
 * after enum module_state and struct list_head. The init and exit pointers
 * sit further down in the real struct; their offsets here are not the
 * kernel's.
 */
struct module {
	int state;
	struct {
		void *next, *prev;
	} list;
	char name[56];
	unsigned char internal[200];
	int (*init)(void);
	void (*exit)(void);
};

extern struct module __this_module;
#define THIS_MODULE (&__this_module)

int init_module(void);
void cleanup_module(void);

/*
 * KLPC_MODINFO adds one "key=value" string to .modinfo, as MODULE_INFO
 * does. The counter keeps the variable names unique.
 */
#define KLPC_CONCAT_(a, b) a##b
#define KLPC_CONCAT(a, b) KLPC_CONCAT_(a, b)
#define KLPC_MODINFO(key, value)					\
	static const char KLPC_CONCAT(klpc_modinfo_, __COUNTER__)[]	\
	__attribute__((section(".modinfo"), used, aligned(1))) =	\
		#key "=" value

/*
 * KLPC_MODULE emits what modpost's generated .mod.c adds to a real module:
 * the name and vermagic modinfo strings and __this_module.
 */
#define KLPC_MODULE(modname, initfn, exitfn)				\
	KLPC_MODINFO(depends, "");					\
	KLPC_MODINFO(name, #modname);					\
	KLPC_MODINFO(vermagic, KLPC_VERMAGIC);				\
	struct module __this_module					\
	__attribute__((section(".gnu.linkonce.this_module"))) = {	\
		.name = #modname,					\
		.init = initfn,						\
		.exit = exitfn,						\
	}

#define __init __attribute__((section(".init.text"), cold))
#define __exit __attribute__((section(".exit.text"), cold))

#endif /* KLPC_CROSS_H */
