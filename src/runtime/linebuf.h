/* SPDX-License-Identifier: MIT
 * linebuf.h - splits a byte stream (a child's stdout, say) into lines with a ceiling:
 * a partial line is kept between chunks in a buffer that never grows past
 * max_line + 1 bytes, and a longer line is handed over once, cut at max_line, with the
 * rest of it skipped. */
#ifndef SW_LINEBUF_H
#define SW_LINEBUF_H

#include <stddef.h>

struct sw_linebuf {
    char *data; /* the partial line so far; owned */
    size_t len;
    size_t cap;
    size_t max_line;
    int skipping; /* inside a too-long line already delivered */
};

/* line: borrowed, valid during the call, not NUL-terminated. */
typedef void (*sw_linebuf_line_cb)(void *arg, const char *line, size_t len, int too_long);

void sw_linebuf_init(struct sw_linebuf *lb, size_t max_line);
/* Feeds bytes; calls line_cb(arg, line, len, too_long) for each complete line (without
 * the '\n'; a trailing '\r' is removed). A line longer than max_line is delivered once
 * with too_long = 1 and its first max_line bytes, and the rest of it is skipped up to
 * the next '\n'. Never allocates more than max_line + 1 bytes. Returns 0 or SW_ENOMEM
 * (then the partial line is dropped up to the next '\n'; the lines before it were
 * delivered). */
int sw_linebuf_feed(struct sw_linebuf *lb, const char *data, size_t len,
                    void (*line_cb)(void *arg, const char *line, size_t len, int too_long),
                    void *arg);
/* At EOF: delivers a last unterminated line if any, and starts over empty. */
void sw_linebuf_finish(struct sw_linebuf *lb, void (*line_cb)(void *, const char *, size_t, int),
                       void *arg);
/* Bytes allocated for the partial line (at most max_line + 1). */
size_t sw_linebuf_capacity(const struct sw_linebuf *lb);
void sw_linebuf_free(struct sw_linebuf *lb);

#endif
