/* SPDX-License-Identifier: MIT
 * buf.c - bounded growable buffer. */
#include "buf.h"
#include "alloc.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

void sw_buf_init(struct sw_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

static int buf_reserve(struct sw_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return SW_ETOO_LARGE;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *data = sw_realloc(b->data, cap);
    if (data == NULL)
        return SW_ENOMEM;
    b->data = data;
    b->cap = cap;
    return 0;
}

int sw_buf_append(struct sw_buf *b, const void *data, size_t len)
{
    int rc = buf_reserve(b, len);
    if (rc)
        return rc;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int sw_buf_appendstr(struct sw_buf *b, const char *s)
{
    return sw_buf_append(b, s, strlen(s));
}

int sw_buf_appendf(struct sw_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SW_EINVAL;
    if ((size_t)n < sizeof small)
        return sw_buf_append(b, small, (size_t)n);
    int rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sw_buf_reset(struct sw_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *sw_buf_detach(struct sw_buf *b, size_t *len)
{
    char *data = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return data;
}

void sw_buf_free(struct sw_buf *b)
{
    sw_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
