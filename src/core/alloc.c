/* SPDX-License-Identifier: MIT
 * alloc.c - malloc wrappers with failure injection for tests. */
#include "alloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static long fail_countdown;

static int alloc_should_fail(void)
{
    if (fail_countdown <= 0)
        return 0;
    return --fail_countdown == 0;
}

void sw_alloc_fail_after(long n)
{
    fail_countdown = n;
}

void *sw_malloc(size_t size)
{
    return alloc_should_fail() ? NULL : malloc(size);
}

void *sw_calloc(size_t count, size_t size)
{
    return alloc_should_fail() ? NULL : calloc(count, size);
}

void *sw_realloc(void *ptr, size_t size)
{
    return alloc_should_fail() ? NULL : realloc(ptr, size);
}

void sw_free(void *ptr)
{
    free(ptr);
}

char *sw_strndup(const char *s, size_t n)
{
    char *copy = sw_malloc(n + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *sw_strdup(const char *s)
{
    return sw_strndup(s, strlen(s));
}

void sw_alloc_install_jansson(void)
{
    json_set_alloc_funcs(sw_malloc, sw_free);
}
