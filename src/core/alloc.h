/* SPDX-License-Identifier: MIT
 * alloc.h - the allocator every swarmd module uses. It is installed into jansson
 * (and libuv by the daemon) so that a test can make the Nth allocation fail. */
#ifndef SW_ALLOC_H
#define SW_ALLOC_H

#include <stddef.h>

void *sw_malloc(size_t size);
void *sw_calloc(size_t count, size_t size);
void *sw_realloc(void *ptr, size_t size);
void sw_free(void *ptr);
/* New string (caller frees with sw_free), NULL on allocation failure. */
char *sw_strdup(const char *s);
char *sw_strndup(const char *s, size_t n);

/* Fail the Nth allocation from now (1 = the next), 0 = never. For tests. */
void sw_alloc_fail_after(long n);
/* Install sw_malloc/sw_free into jansson. */
void sw_alloc_install_jansson(void);

#endif
