/* SPDX-License-Identifier: MIT
 * stream.h - text replies from the daemon (agent logs) copied to standard output as
 * they arrive, several at once through libcurl's multi interface. A reply that never
 * ends (logs?follow=1) is copied until the daemon ends it or the user interrupts. */
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
};

/* GETs every source from the daemon at ep (borrowed) at once and copies each reply
 * body to standard output as it arrives; with follow, without a time limit. Returns 0
 * when every reply was a 2xx that ended; else, after printing why, SW_ENOT_FOUND when
 * one answered 404, SW_EIO when the daemon could not be reached, SW_EINTERNAL for
 * another error reply or when libcurl cannot be loaded, SW_ENOMEM. */
int sw_stream_run(const struct sw_endpoint *ep, const struct sw_stream_source *sources, size_t n,
                  int follow);

#endif
