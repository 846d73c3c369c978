/* SPDX-License-Identifier: MIT
 * stream.h - text replies from the daemon (agent logs, event streams) copied to
 * standard output, or handed line by line to a callback, as they arrive, several at
 * once through libcurl's multi interface. A reply that never ends (logs?follow=1) is
 * copied until the daemon ends it, the callback stops it, or the user interrupts. */
#ifndef SW_CLI_STREAM_H
#define SW_CLI_STREAM_H

#include "cli/endpoint.h"

#include <stddef.h>

#define SW_STREAM_LINE_MAX ((size_t)64 << 10) /* a longer line is cut in pieces */

/* One reply to copy. */
struct sw_stream_source {
    const char *path;   /* "/v1/agents/a_1/logs?tail=10": path and query (borrowed) */
    const char *prefix; /* written before each line ("w1 | "); NULL = copy the bytes as
                           they come (borrowed) */
    const char *header; /* one more request header ("Last-Event-ID: 42"); NULL = none */
    /* When set, each whole line (without its '\n') goes to line_cb instead of standard
     * output, and prefix is not used. It returns 0 to go on, SW_STREAM_STOP to end
     * this reply as a success, or a negative SW_E* code to end it with that code. */
    int (*line_cb)(void *arg, const char *line, size_t len);
    void *arg; /* passed to line_cb (borrowed) */
};

#define SW_STREAM_STOP 1

/* GETs every source from the daemon at ep (borrowed) at once and copies each reply
 * body to standard output (or its line_cb) as it arrives; with follow, without a time
 * limit. Returns 0 when every reply was a 2xx that ended (or that line_cb stopped);
 * the code line_cb returned to end one; else, after printing why, SW_ENOT_FOUND when
 * one answered 404, SW_EIO when the daemon could not be reached, SW_EINTERNAL for
 * another error reply or when libcurl cannot be loaded, SW_ENOMEM. */
int sw_stream_run(const struct sw_endpoint *ep, const struct sw_stream_source *sources, size_t n,
                  int follow);

#endif
