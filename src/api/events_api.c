/* SPDX-License-Identifier: MIT
 * events_api.c - the event log over HTTP: publish (POST /v1/events), read a page
 * (GET /v1/events) and follow (GET /v1/events/stream, Server-Sent Events). */
#include "events.h"
#include "json_in.h"
#include "routes.h"
#include "server.h"
#include "sse.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"

#include <stdio.h>
#include <string.h>

#define PAGE_DEFAULT 100
#define PAGE_MAX     1000

/* The filter from the query (type, source, subject); 0 or an answered error. */
static int query_filter(struct sw_request *req, struct sw_event_filter *f)
{
    static const char *const fields[] = {"type", "source", "subject"};
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 3; i++) {
        const char *v = sw_request_query(req, fields[i]);
        int rc = v ? sw_event_filter_set(f, fields[i], v) : 0;
        if (rc) {
            sw_event_filter_free(f);
            sw_reply_error(req, rc == SW_ENOMEM ? rc : SW_EBAD_QUERY, fields[i],
                           "%s must be printable text, optionally ending with '*' for a prefix",
                           fields[i]);
            return rc;
        }
    }
    return 0;
}

void sw_api_event_publish(struct sw_request *req)
{
    static const char *const allowed[] = {
        "type", "source",      "subject",         "data", "traceparent", "id",
        "time", "specversion", "datacontenttype", NULL};
    json_t *body;
    if (sw_body_object(req, &body))
        return;
    const char *type = NULL, *source = NULL, *subject = NULL, *trace = NULL, *spec = NULL;
    char *data = NULL;
    if (sw_body_only(req, body, allowed) || sw_field_string(req, body, "type", 1, 256, &type) ||
        sw_field_string(req, body, "source", 0, 256, &source) ||
        sw_field_string(req, body, "subject", 0, 1024, &subject) ||
        sw_field_string(req, body, "traceparent", 0, 128, &trace) ||
        sw_field_string(req, body, "specversion", 0, 16, &spec) ||
        sw_field_json(req, body, "data", (size_t)req->server->cfg.max_payload, &data))
        goto out;
    if (!sw_event_field_valid(type) || strncmp(type, "swarmd.", 7) == 0) {
        sw_reply_error(req, SW_EBAD_FIELD, "type",
                       "type must be 1-256 printable characters without spaces, and not start "
                       "with \"swarmd.\" (reserved for the daemon's own events)");
        goto out;
    }
    if (source && !sw_event_field_valid(source)) {
        sw_reply_error(req, SW_EBAD_FIELD, "source",
                       "source must be 1-256 printable characters without spaces");
        goto out;
    }
    if (spec && strcmp(spec, "1.0") != 0) {
        sw_reply_error(req, SW_EBAD_FIELD, "specversion", "specversion must be \"1.0\"");
        goto out;
    }
    char own[32];
    if (source == NULL) {
        if (req->agent) {
            char id[SW_ID_STRLEN];
            sw_id_format('a', req->agent->id, id);
            snprintf(own, sizeof own, "/agents/%s", id);
            source = own;
        } else {
            source = "/clients";
        }
    }
    struct sw_server *s = req->server;
    uint64_t seq = sw_events_append(s, type, source, subject, trace, data, data ? strlen(data) : 0);
    if (seq == 0) {
        sw_reply_error(req, SW_ENOMEM, NULL, "out of memory");
        goto out;
    }
    sw_reply_text(req, 201, sw_events_get(s, seq)->json);
out:
    sw_free(data);
    json_decref(body);
}

void sw_api_event_list(struct sw_request *req)
{
    static const char *const allowed[] = {"after", "type", "source", "subject", "limit", NULL};
    struct sw_server *s = req->server;
    int64_t after = 0, limit = PAGE_DEFAULT;
    struct sw_event_filter f;
    if (sw_query_only(req, allowed) || sw_query_int(req, "after", 0, INT64_MAX / 2, &after) ||
        sw_query_int(req, "limit", 1, PAGE_MAX, &limit) || query_filter(req, &f))
        return;
    struct sw_sub sub;
    sw_sub_init(&sub, s, &f, (uint64_t)after, NULL, NULL);
    struct sw_buf b;
    sw_buf_init(&b, (size_t)1 << 30);
    int rc = sw_buf_appendstr(&b, "{\"events\":[");
    uint64_t gap = 0;
    for (int64_t n = 0; rc == 0 && n < limit;) {
        const struct sw_event *ev;
        uint64_t first;
        int got = sw_events_next(&sub, &ev, &first);
        if (got == SW_EGAP) {
            if (gap == 0)
                gap = first;
            continue;
        }
        if (got <= 0) {
            rc = got < 0 ? got : 0;
            break;
        }
        rc = (n++ ? sw_buf_append(&b, ",", 1) : 0);
        rc = rc ? rc : sw_buf_append(&b, ev->json, ev->len);
    }
    uint64_t next_after = sub.after;
    sw_sub_stop(&sub);
    rc = rc ? rc
            : sw_buf_appendf(&b, "],\"next_after\":%llu,\"first\":%llu,\"last\":%llu",
                             (unsigned long long)next_after, (unsigned long long)sw_events_first(s),
                             (unsigned long long)sw_events_committed(s));
    if (gap)
        rc =
            rc ? rc
               : sw_buf_appendf(&b, ",\"gap\":{\"first_available\":%llu}", (unsigned long long)gap);
    rc = rc ? rc : sw_buf_append(&b, "}", 1);
    if (rc)
        sw_reply_error(req, rc, NULL, "reading the events failed");
    else
        sw_reply(req, 200, &b);
    sw_buf_free(&b);
}

void sw_api_event_stream(struct sw_request *req)
{
    static const char *const allowed[] = {"after", "type", "source", "subject", NULL};
    struct sw_event_filter f;
    uint64_t after;
    const char *bad;
    if (sw_query_only(req, allowed))
        return;
    if (sw_sse_position(req, "after", &after, &bad)) {
        sw_reply_error(req, SW_EBAD_QUERY, bad, "%s must be an event sequence number", bad);
        return;
    }
    if (query_filter(req, &f))
        return;
    sw_sse_start(req, SW_SSE_EVENTS, &f, after);
}
