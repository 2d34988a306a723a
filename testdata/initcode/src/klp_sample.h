/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stand-in for the kernel headers when a sample is built freestanding with a
 * cross compiler (no kernel tree for that architecture is installed). It
 * declares only what the samples use, with the layouts of the kernel's
 * include/linux/livepatch.h and list.h and the allocator entry points of
 * include/linux/slab.h:
 *
 *   SAMPLE_SLAB_API 612  __kmalloc_cache_noprof / __kmalloc_noprof (6.10+)
 *   SAMPLE_SLAB_API 61   kmalloc_trace / __kmalloc (6.1 to 6.5)
 *   SAMPLE_SLAB_API 54   kmem_cache_alloc_trace / __kmalloc (before 6.1)
 *
 * SAMPLE_KLP_5_1 selects the klp_patch of 5.1 to 5.4, which has no states
 * pointer, so replace sits at offset 16 instead of 24.
 */
#ifndef KLP_SAMPLE_H
#define KLP_SAMPLE_H

#ifndef SAMPLE_SLAB_API
#define SAMPLE_SLAB_API 612
#endif

typedef unsigned long size_t;
typedef unsigned int gfp_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)
#define ENOMEM 12
#define EINVAL 22

#define __init __attribute__((__section__(".init.text"), __cold__))
#define noinline __attribute__((__noinline__))
#define __exit __attribute__((__section__(".exit.text")))
#define __always_inline inline __attribute__((__always_inline__))
#define __malloc_like(n) __attribute__((__malloc__, __alloc_size__(n)))

#define GFP_KERNEL 0xcc0u
#define __GFP_ZERO 0x100u

struct module;
extern struct module __this_module;
#define THIS_MODULE (&__this_module)

int strcmp(const char *a, const char *b);
int printk(const char *fmt, ...);
#define pr_err(fmt, ...) printk("\0013" fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) printk("\0016" fmt, ##__VA_ARGS__)

/* include/linux/list.h */
struct list_head {
	struct list_head *next, *prev;
};
#define LIST_HEAD(name) struct list_head name = { &(name), &(name) }
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - __builtin_offsetof(type, member)))
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_for_each_entry(pos, head, member)					\
	for (pos = list_entry((head)->next, __typeof__(*pos), member);		\
	     &pos->member != (head);						\
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))
static inline void INIT_LIST_HEAD(struct list_head *list)
{
	*(volatile struct list_head **)&list->next = list;
	list->prev = list;
}
static inline void list_add(struct list_head *entry, struct list_head *head)
{
	struct list_head *next = head->next;

	next->prev = entry;
	entry->next = next;
	entry->prev = head;
	*(volatile struct list_head **)&head->next = entry;
}
static inline void list_add_tail(struct list_head *entry, struct list_head *head)
{
	struct list_head *prev = head->prev;

	head->prev = entry;
	entry->next = head;
	entry->prev = prev;
	*(volatile struct list_head **)&prev->next = entry;
}

/* include/linux/slab.h, reduced to the calls the compiler emits. */
struct kmem_cache;
extern struct kmem_cache *kmalloc_caches[4][14];
void kfree(const void *p);

static __always_inline unsigned int sample_kmalloc_index(size_t size)
{
	unsigned int index = 3;

	while ((1ul << index) < size)
		index++;
	return index;
}

#if SAMPLE_SLAB_API >= 612
void *__kmalloc_cache_noprof(struct kmem_cache *s, gfp_t flags, size_t size) __malloc_like(3);
void *__kmalloc_noprof(size_t size, gfp_t flags) __malloc_like(1);
#define sample_kmalloc_cache(s, flags, size) __kmalloc_cache_noprof(s, flags, size)
#define sample_kmalloc_any(size, flags) __kmalloc_noprof(size, flags)
#elif SAMPLE_SLAB_API >= 61
void *kmalloc_trace(struct kmem_cache *s, gfp_t flags, size_t size) __malloc_like(3);
void *__kmalloc(size_t size, gfp_t flags) __malloc_like(1);
#define sample_kmalloc_cache(s, flags, size) kmalloc_trace(s, flags, size)
#define sample_kmalloc_any(size, flags) __kmalloc(size, flags)
#else
void *kmem_cache_alloc_trace(struct kmem_cache *s, gfp_t flags, size_t size) __malloc_like(3);
void *__kmalloc(size_t size, gfp_t flags) __malloc_like(1);
#define sample_kmalloc_cache(s, flags, size) kmem_cache_alloc_trace(s, flags, size)
#define sample_kmalloc_any(size, flags) __kmalloc(size, flags)
#endif

static __always_inline void *kmalloc(size_t size, gfp_t flags)
{
	if (__builtin_constant_p(size) && size <= 8192)
		return sample_kmalloc_cache(kmalloc_caches[0][sample_kmalloc_index(size)],
					    flags, size);
	return sample_kmalloc_any(size, flags);
}
static __always_inline void *kzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}
static __always_inline void *kcalloc(size_t n, size_t size, gfp_t flags)
{
	return kzalloc(n * size, flags);
}

/* include/linux/livepatch.h (5.5+ unless SAMPLE_KLP_5_1) */
struct klp_func {
	const char *old_name;
	void *new_func;
	unsigned long old_sympos;
	void *old_func;
	char kobj[64];
	struct list_head node;
	struct list_head stack_node;
	unsigned long old_size, new_size;
	bool nop;
	bool patched;
	bool transition;
};
struct klp_callbacks {
	int (*pre_patch)(void *obj);
	void (*post_patch)(void *obj);
	void (*pre_unpatch)(void *obj);
	void (*post_unpatch)(void *obj);
	bool post_unpatch_enabled;
};
struct klp_object {
	const char *name;
	struct klp_func *funcs;
	struct klp_callbacks callbacks;
	char kobj[64];
	struct list_head func_list;
	struct list_head node;
	struct module *mod;
	bool dynamic;
	bool patched;
};
struct klp_state {
	unsigned long id;
	unsigned int version;
	void *data;
};
struct klp_patch {
	struct module *mod;
	struct klp_object *objs;
#ifndef SAMPLE_KLP_5_1
	struct klp_state *states;
#endif
	bool replace;
	struct list_head list;
	char kobj[64];
	struct list_head obj_list;
	bool enabled;
	bool forced;
	char free_work[32];
	char finish[32];
};
int klp_enable_patch(struct klp_patch *patch);

#define module_init(fn) int init_module(void) __attribute__((__alias__(#fn)))
#define module_exit(fn) void cleanup_module(void) __attribute__((__alias__(#fn)))
#define MODULE_LICENSE(s)
#define MODULE_INFO(tag, s)
/* The kernel's module_param takes the variable's address, so the compiler
 * cannot treat the parameter as a constant; this does the same. */
#define module_param(name, type, perm) \
	static void *__sample_param_##name __attribute__((__used__)) = &name
#define MODULE_PARM_DESC(name, s)

#endif /* KLP_SAMPLE_H */
