/* SPDX-License-Identifier: MIT
 * sse.h - Server-Sent Events streams of the event log: GET /v1/events/stream (each
 * message "id: <seq>" + "data: <CloudEvent>") and memory watches (the change, with its
 * revision as id). A stream pulls from its subscription only when the connection can
 * take more, so a reader that does not read holds nothing but its position. A comment
 * line every 15 s keeps idle connections alive. */
#ifndef SW_SSE_H
#define SW_SSE_H

#include "api/events.h"
#include "api/http.h"

enum sw_sse_mode {
    SW_SSE_EVENTS, /* data: the whole CloudEvent */
    SW_SSE_CHANGES /* data: the event's data (memory changes) */
};

/* Answers req with a stream of the events after `after` (SW_EVENTS_NOW: from now) that
 * match filter (moved in). */
void sw_sse_start(struct sw_request *req, enum sw_sse_mode mode, struct sw_event_filter *filter,
                  uint64_t after);
/* The position a client resumes from: Last-Event-ID, else ?<after_key>=, else now.
 * 0 or SW_EBAD_QUERY (*bad names the parameter). */
int sw_sse_position(struct sw_request *req, const char *after_key, uint64_t *after,
                    const char **bad);
/* Ends every stream (the daemon stops). */
void sw_event_streams_end_all(struct sw_server *s);
long sw_sse_count(struct sw_server *s);

#endif
