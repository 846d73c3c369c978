/* SPDX-License-Identifier: MIT
 * linebuf.c - line splitting with a ceiling. Complete lines inside a chunk are handed
 * over straight from the caller's bytes; only a line cut by a chunk boundary is
 * copied, into a buffer grown by doubling up to max_line + 1 bytes (the extra byte
 * holds a '\r' that may turn out to precede the '\n'). */
#include "linebuf.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

#define LINEBUF_MIN_CAP 256

void sw_linebuf_init(struct sw_linebuf *lb, size_t max_line)
{
    lb->data = NULL;
    lb->len = lb->cap = 0;
    lb->max_line = max_line;
    lb->skipping = 0;
}

static void linebuf_deliver(const struct sw_linebuf *lb, const char *line, size_t len,
                            sw_linebuf_line_cb line_cb, void *arg)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > lb->max_line)
        line_cb(arg, line, lb->max_line, 1);
    else
        line_cb(arg, line, len, 0);
}

static int linebuf_reserve(struct sw_linebuf *lb, size_t need)
{
    size_t limit = lb->max_line + 1;
    size_t cap;
    char *data;

    if (need <= lb->cap)
        return 0;
    cap = lb->cap ? lb->cap : LINEBUF_MIN_CAP;
    while (cap < need)
        cap *= 2;
    if (cap > limit)
        cap = limit;
    data = sw_realloc(lb->data, cap);
    if (data == NULL)
        return SW_ENOMEM;
    lb->data = data;
    lb->cap = cap;
    return 0;
}

/* Appends up to the first max_line bytes of the line and hands them over as too long. */
static int linebuf_cut(struct sw_linebuf *lb, const char *seg, size_t seg_len,
                       sw_linebuf_line_cb line_cb, void *arg)
{
    size_t kept = lb->len < lb->max_line ? lb->len : lb->max_line;
    size_t take = lb->max_line - kept;
    int rc;

    if (take > seg_len)
        take = seg_len;
    rc = linebuf_reserve(lb, kept + take);
    if (rc == 0) {
        if (take > 0)
            memcpy(lb->data + kept, seg, take);
        line_cb(arg, lb->data, lb->max_line, 1);
    }
    lb->len = 0;
    return rc;
}

/* One segment of the input: a line's end (complete) or a partial line. */
static int linebuf_segment(struct sw_linebuf *lb, const char *seg, size_t seg_len, int complete,
                           sw_linebuf_line_cb line_cb, void *arg)
{
    size_t total = lb->len + seg_len;
    char last = seg_len ? seg[seg_len - 1] : (lb->len ? lb->data[lb->len - 1] : '\0');
    int rc;

    if (complete && lb->len == 0) {
        linebuf_deliver(lb, seg, seg_len, line_cb, arg);
        return 0;
    }
    if (total > lb->max_line + 1 || (total == lb->max_line + 1 && last != '\r')) {
        lb->skipping = !complete;
        return linebuf_cut(lb, seg, seg_len, line_cb, arg);
    }
    rc = linebuf_reserve(lb, total);
    if (rc) {
        lb->len = 0;
        lb->skipping = !complete;
        return rc;
    }
    if (seg_len > 0)
        memcpy(lb->data + lb->len, seg, seg_len);
    lb->len = total;
    if (complete) {
        linebuf_deliver(lb, lb->data, lb->len, line_cb, arg);
        lb->len = 0;
    }
    return 0;
}

int sw_linebuf_feed(struct sw_linebuf *lb, const char *data, size_t len,
                    void (*line_cb)(void *arg, const char *line, size_t len, int too_long),
                    void *arg)
{
    int rc = 0;

    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t seg_len = nl ? (size_t)(nl - data) : len;

        if (lb->skipping) {
            if (nl)
                lb->skipping = 0;
        } else {
            int seg_rc = linebuf_segment(lb, data, seg_len, nl != NULL, line_cb, arg);
            if (seg_rc)
                rc = seg_rc;
        }
        if (nl)
            seg_len++;
        data += seg_len;
        len -= seg_len;
    }
    return rc;
}

void sw_linebuf_finish(struct sw_linebuf *lb, void (*line_cb)(void *, const char *, size_t, int),
                       void *arg)
{
    if (!lb->skipping && lb->len > 0)
        linebuf_deliver(lb, lb->data, lb->len, line_cb, arg);
    lb->len = 0;
    lb->skipping = 0;
}

size_t sw_linebuf_capacity(const struct sw_linebuf *lb)
{
    return lb->cap;
}

void sw_linebuf_free(struct sw_linebuf *lb)
{
    sw_free(lb->data);
    lb->data = NULL;
    lb->len = lb->cap = 0;
    lb->skipping = 0;
}
