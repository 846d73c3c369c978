/* SPDX-License-Identifier: MIT
 * sse.c - Server-Sent Events streams over a subscription of the event log. */
#include "sse.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEARTBEAT_MS 15000

struct sw_sse_stream {
    struct sw_sse_stream *next, *prev;
    struct sw_server *server;
    struct sw_request *req; /* NULL once the request is gone */
    enum sw_sse_mode mode;
    struct sw_sub sub;
    struct sw_buf out; /* a message that did not fit the last read */
    size_t out_pos;
    uv_timer_t heartbeat;
    int beat_due;
    int ending;
    int started;
};

static void stream_wake(struct sw_sub *sub)
{
    struct sw_sse_stream *st = sub->cls;
    if (st->req)
        sw_stream_wake(st->req);
}

static void heartbeat_cb(uv_timer_t *timer)
{
    struct sw_sse_stream *st = timer->data;
    st->beat_due = 1;
    if (st->req)
        sw_stream_wake(st->req);
}

/* Formats the next message into st->out: 1 when there is one, 0 when caught up. */
static int next_message(struct sw_sse_stream *st)
{
    const struct sw_event *ev;
    uint64_t first;
    sw_buf_reset(&st->out);
    st->out_pos = 0;
    int rc = sw_events_next(&st->sub, &ev, &first);
    if (rc == 1) {
        const char *data = st->mode == SW_SSE_EVENTS ? ev->json : ev->json + ev->data_off;
        size_t len = st->mode == SW_SSE_EVENTS ? ev->len : ev->len - 1 - ev->data_off;
        /* JSON text has no raw newline: one data line */
        if (sw_buf_appendf(&st->out, "id: %llu\ndata: ", (unsigned long long)ev->seq) ||
            sw_buf_append(&st->out, data, len) || sw_buf_append(&st->out, "\n\n", 2))
            return -1;
        return 1;
    }
    if (rc == SW_EGAP) {
        if (sw_buf_appendf(&st->out, "event: gap\ndata: {\"first_available\":%llu}\n\n",
                           (unsigned long long)first))
            return -1;
        return 1;
    }
    if (rc < 0)
        return -1;
    if (st->beat_due) {
        st->beat_due = 0;
        if (sw_buf_appendstr(&st->out, ": heartbeat\n\n"))
            return -1;
        return 1;
    }
    return 0;
}

static long stream_read(void *cls, char *buf, size_t max)
{
    struct sw_sse_stream *st = cls;
    size_t n = 0;
    if (!st->started) { /* a first line: the headers go out, the client knows where it is */
        st->started = 1;
        sw_buf_appendf(&st->out, ": ready after=%llu\n\n", (unsigned long long)st->sub.after);
    }
    for (;;) {
        if (st->out_pos < st->out.len) {
            size_t take = st->out.len - st->out_pos;
            if (take > max - n)
                take = max - n;
            memcpy(buf + n, st->out.data + st->out_pos, take);
            st->out_pos += take;
            n += take;
            if (n == max)
                return (long)n;
            continue;
        }
        if (st->ending)
            return n ? (long)n : -1;
        int rc = next_message(st);
        if (rc < 0)
            return n ? (long)n : -1;
        if (rc == 0)
            return (long)n;
    }
}

static void stream_detach(void *cls)
{
    struct sw_sse_stream *st = cls;
    st->req = NULL;
}

static void heartbeat_closed(uv_handle_t *h)
{
    struct sw_sse_stream *st = h->data;
    sw_buf_free(&st->out);
    sw_free(st);
}

static void stream_free(void *cls)
{
    struct sw_sse_stream *st = cls;
    sw_sub_stop(&st->sub);
    if (st->prev)
        st->prev->next = st->next;
    else
        st->server->sse_streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->server->sse_count--;
    uv_timer_stop(&st->heartbeat);
    uv_close((uv_handle_t *)&st->heartbeat, heartbeat_closed);
}

void sw_sse_start(struct sw_request *req, enum sw_sse_mode mode, struct sw_event_filter *filter,
                  uint64_t after)
{
    struct sw_server *s = req->server;
    struct sw_sse_stream *st = sw_calloc(1, sizeof *st);
    if (st == NULL) {
        sw_event_filter_free(filter);
        sw_reply_error(req, SW_ENOMEM, NULL, "out of memory");
        return;
    }
    st->server = s;
    st->req = req;
    st->mode = mode;
    sw_buf_init(&st->out, (size_t)128 << 20);
    sw_sub_init(&st->sub, s, filter, after, stream_wake, st);
    sw_sub_start(&st->sub);
    uv_timer_init(s->loop, &st->heartbeat);
    st->heartbeat.data = st;
    uv_timer_start(&st->heartbeat, heartbeat_cb, HEARTBEAT_MS, HEARTBEAT_MS);
    st->next = s->sse_streams;
    if (s->sse_streams)
        s->sse_streams->prev = st;
    s->sse_streams = st;
    s->sse_count++;
    req->extra_header_name = "Cache-Control";
    snprintf(req->extra_header, sizeof req->extra_header, "no-cache");
    sw_reply_stream(req, 200, "text/event-stream", stream_read, stream_free, stream_detach, st);
}

int sw_sse_position(struct sw_request *req, const char *after_key, uint64_t *after,
                    const char **bad)
{
    const char *text = sw_request_header(req, "Last-Event-ID");
    *bad = "Last-Event-ID";
    if (text == NULL || *text == '\0') {
        text = sw_request_query(req, after_key);
        *bad = after_key;
    }
    if (text == NULL || *text == '\0') {
        *after = SW_EVENTS_NOW;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v >= UINT64_MAX / 2)
        return SW_EBAD_QUERY;
    *after = v;
    return 0;
}

void sw_event_streams_end_all(struct sw_server *s)
{
    for (struct sw_sse_stream *st = s->sse_streams; st; st = st->next) {
        if (st->ending)
            continue;
        st->ending = 1;
        if (st->req)
            sw_stream_wake(st->req);
    }
}

long sw_sse_count(struct sw_server *s)
{
    return s->sse_count;
}
