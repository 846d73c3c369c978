/* SPDX-License-Identifier: MIT
 * buf.h - a growable byte buffer with a ceiling fixed at init: growth past it fails
 * with SW_ETOO_LARGE instead of allocating without bound (as curl's dynbuf). */
#ifndef SW_BUF_H
#define SW_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct sw_buf {
    char *data; /* NUL-terminated when len > 0 */
    size_t len;
    size_t cap;
    size_t max;
};

void sw_buf_init(struct sw_buf *b, size_t max);
int sw_buf_append(struct sw_buf *b, const void *data, size_t len);
int sw_buf_appendf(struct sw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sw_buf_appendstr(struct sw_buf *b, const char *s);
void sw_buf_reset(struct sw_buf *b);
/* Hands the data to the caller (caller frees with sw_free) and resets b. */
char *sw_buf_detach(struct sw_buf *b, size_t *len);
void sw_buf_free(struct sw_buf *b);

#endif
