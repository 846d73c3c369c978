/* SPDX-License-Identifier: MIT
 * events.c - the event bus: sequence numbers, the in-memory window of recent events
 * (a ring), the batch -> last event map that tells which events are committed, the
 * subscriptions waiting for more, store read-back for readers behind the window, and
 * retention. */
#include "events.h"
#include "server.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"

#include <string.h>

#define STORE_PAGE         256
#define RETENTION_EVERY_MS 1000

struct pending_batch {
    uint64_t batch;
    uint64_t last_event;
};

struct sw_events {
    struct sw_server *server;
    struct sw_event **ring; /* ring[(head + i) % cap]: seq ring_first + i */
    size_t cap, head, len, bytes;
    uint64_t ring_first;
    uint64_t next_seq;  /* the next sequence to hand out */
    uint64_t committed; /* the last committed sequence */
    uint64_t first;     /* the first sequence kept (events below were pruned) */
    uint64_t queued;    /* the last sequence handed to the writer */
    struct pending_batch *pending;
    size_t npending, cappending;
    struct sw_sub *waiting; /* caught-up subscriptions, woken at the next commit */
    uv_timer_t retention;
};

static struct sw_events *bus(struct sw_server *s)
{
    return s->events;
}

/* ---- the window ---- */

static struct sw_event *ring_at(struct sw_events *e, uint64_t seq)
{
    if (e->len == 0 || seq < e->ring_first || seq >= e->ring_first + e->len)
        return NULL;
    return e->ring[(e->head + (seq - e->ring_first)) % e->cap];
}

static int ring_grow(struct sw_events *e)
{
    size_t cap = e->cap ? e->cap * 2 : 1024;
    struct sw_event **ring = sw_malloc(cap * sizeof *ring);
    if (ring == NULL)
        return SW_ENOMEM;
    for (size_t i = 0; i < e->len; i++)
        ring[i] = e->ring[(e->head + i) % e->cap];
    sw_free(e->ring);
    e->ring = ring;
    e->cap = cap;
    e->head = 0;
    return 0;
}

/* Drops committed events past the window's count or byte budget. */
static void ring_trim(struct sw_events *e)
{
    struct sw_server *s = e->server;
    size_t max = (size_t)s->cfg.events_window;
    size_t max_bytes = max * 512 > ((size_t)64 << 20) ? max * 512 : ((size_t)64 << 20);
    while (e->len && (e->len > max || e->bytes > max_bytes || e->ring_first < e->first)) {
        struct sw_event *ev = e->ring[e->head];
        if (ev->seq > e->committed) /* the writer may still read it */
            break;
        e->bytes -= sw_event_size(ev);
        sw_event_free(ev);
        e->head = (e->head + 1) % e->cap;
        e->len--;
        e->ring_first++;
    }
}

/* ---- appending ---- */

uint64_t sw_events_next_seq(struct sw_server *s)
{
    return bus(s)->next_seq;
}

const struct sw_event *sw_events_get(struct sw_server *s, uint64_t seq)
{
    return ring_at(bus(s), seq);
}

uint64_t sw_events_committed(struct sw_server *s)
{
    return bus(s)->committed;
}

uint64_t sw_events_first(struct sw_server *s)
{
    struct sw_events *e = bus(s);
    return e->first;
}

uint64_t sw_events_append(struct sw_server *s, const char *type, const char *source,
                          const char *subject, const char *traceparent, const char *data,
                          size_t data_len)
{
    struct sw_events *e = bus(s);
    if (e->len == e->cap && ring_grow(e))
        return 0;
    struct sw_store_batch *b = sw_server_open_batch(s);
    struct sw_event *ev = b ? sw_event_new(e->next_seq, sw_server_now(s), type, source, subject,
                                           traceparent, data, data_len)
                            : NULL;
    if (ev == NULL || sw_store_batch_add_event(b, ev)) {
        sw_event_free(ev);
        sw_log_error("events", "msg=\"event dropped: out of memory\" type=%s", type);
        return 0;
    }
    if (e->len == 0)
        e->ring_first = ev->seq;
    e->ring[(e->head + e->len) % e->cap] = ev;
    e->len++;
    e->bytes += sw_event_size(ev);
    return e->next_seq++;
}

/* ---- commits ---- */

static void unlist(struct sw_sub *sub);

void sw_events_batch_queued(struct sw_server *s, uint64_t batch_seq)
{
    struct sw_events *e = bus(s);
    uint64_t last = e->next_seq - 1;
    if (last <= e->queued)
        return;
    if (e->npending == e->cappending) {
        size_t cap = e->cappending ? e->cappending * 2 : 16;
        struct pending_batch *p = sw_realloc(e->pending, cap * sizeof *p);
        if (p == NULL) { /* the events publish with the next batch that has room */
            sw_log_error("events", "msg=\"out of memory\"");
            return;
        }
        e->pending = p;
        e->cappending = cap;
    }
    e->pending[e->npending++] = (struct pending_batch){batch_seq, last};
    e->queued = last;
}

/* 1 if an event newly committed after sub->after matches the subscription's filter.
 * Else the reader may skip them: its position moves on without waking it. */
#define WAKE_SCAN_MAX 4096

static int has_news(struct sw_events *e, struct sw_sub *sub)
{
    uint64_t from = sub->after + 1;
    if (e->committed - sub->after > WAKE_SCAN_MAX || e->len == 0 || from < e->ring_first)
        return 1; /* too many to look at, or not in the window: let it read */
    for (uint64_t seq = from; seq <= e->committed; seq++) {
        struct sw_event *ev = ring_at(e, seq);
        if (ev == NULL || sw_event_filter_match(&sub->filter, ev))
            return 1;
    }
    sub->after = e->committed;
    return 0;
}

/* Wakes the waiting subscriptions that have something new to read; the others stay. */
static void wake_all(struct sw_events *e)
{
    struct sw_sub *sub = e->waiting, *woken = NULL;
    while (sub) {
        struct sw_sub *next = sub->next;
        if (has_news(e, sub)) {
            unlist(sub);
            sub->waiting = 0;
            sub->next = woken; /* a private list: wake callbacks may list them again */
            woken = sub;
        }
        sub = next;
    }
    while (woken) {
        struct sw_sub *next = woken->next;
        woken->next = woken->prev = NULL;
        woken->wake(woken);
        woken = next;
    }
}

void sw_events_committed_batch(struct sw_server *s, uint64_t batch_seq)
{
    struct sw_events *e = bus(s);
    size_t done = 0;
    while (done < e->npending && e->pending[done].batch <= batch_seq)
        e->committed = e->pending[done++].last_event;
    if (done == 0)
        return;
    memmove(e->pending, e->pending + done, (e->npending - done) * sizeof *e->pending);
    e->npending -= done;
    ring_trim(e);
    wake_all(e);
}

/* ---- subscriptions ---- */

void sw_sub_init(struct sw_sub *sub, struct sw_server *s, struct sw_event_filter *filter,
                 uint64_t after, sw_sub_wake_fn wake, void *cls)
{
    memset(sub, 0, sizeof *sub);
    sub->server = s;
    if (filter) {
        sub->filter = *filter;
        memset(filter, 0, sizeof *filter);
    }
    sub->after = after;
    sub->wake = wake;
    sub->cls = cls;
}

static void wait_more(struct sw_sub *sub);

void sw_sub_start(struct sw_sub *sub)
{
    if (sub->after == SW_EVENTS_NOW)
        sub->after = bus(sub->server)->committed;
    if (sub->wake)
        wait_more(sub); /* woken at the next commit, even if never read before */
}

static void page_free(struct sw_sub *sub)
{
    for (size_t i = sub->page_pos; i < sub->page_len; i++)
        sw_event_free(sub->page[i]);
    sw_free(sub->page);
    sub->page = NULL;
    sub->page_len = sub->page_pos = 0;
}

static void unlist(struct sw_sub *sub)
{
    if (!sub->listed)
        return;
    struct sw_events *e = bus(sub->server);
    if (sub->prev)
        sub->prev->next = sub->next;
    else
        e->waiting = sub->next;
    if (sub->next)
        sub->next->prev = sub->prev;
    sub->next = sub->prev = NULL;
    sub->listed = 0;
}

void sw_sub_stop(struct sw_sub *sub)
{
    if (sub->server == NULL)
        return;
    unlist(sub);
    page_free(sub);
    sw_event_free(sub->held);
    sub->held = NULL;
    sw_event_filter_free(&sub->filter);
    sub->waiting = 0;
    sub->server = NULL;
}

static void wait_more(struct sw_sub *sub)
{
    if (sub->listed)
        return;
    struct sw_events *e = bus(sub->server);
    sub->waiting = 1;
    sub->listed = 1;
    sub->prev = NULL;
    sub->next = e->waiting;
    if (e->waiting)
        e->waiting->prev = sub;
    e->waiting = sub;
}

/* The event handed out last by a page read stays alive until the next call. */
static struct sw_event *page_take(struct sw_sub *sub)
{
    return sub->page_pos < sub->page_len ? sub->page[sub->page_pos++] : NULL;
}

static int read_store(struct sw_sub *sub)
{
    struct sw_server *s = sub->server;
    struct sw_event_query q = {sub->after, &sub->filter, STORE_PAGE};
    page_free(sub);
    int rc = s->store->ops->event_list(s->store, &q, &sub->page, &sub->page_len);
    if (rc)
        sw_log_error("events", "msg=\"reading the log failed\" after=%llu err=%s",
                     (unsigned long long)sub->after, sw_strerror(rc));
    return rc;
}

int sw_events_next(struct sw_sub *sub, const struct sw_event **out, uint64_t *first)
{
    struct sw_events *e = bus(sub->server);
    sw_event_free(sub->held);
    sub->held = NULL;
    for (;;) {
        struct sw_event *ev = page_take(sub);
        if (ev) {
            sub->after = ev->seq;
            if (ev->type == NULL || ev->seq > e->committed) { /* a scan marker */
                sw_event_free(ev);
                continue;
            }
            sub->held = ev;
            *out = ev;
            return 1;
        }
        if (sub->page) {
            sw_free(sub->page);
            sub->page = NULL;
            sub->page_len = sub->page_pos = 0;
        }
        if (sub->after >= e->committed) {
            wait_more(sub);
            return 0;
        }
        uint64_t next = sub->after + 1;
        if (next < e->first) {
            *first = e->first;
            sub->after = e->first - 1;
            return SW_EGAP;
        }
        if (e->len && next >= e->ring_first) {
            for (uint64_t seq = next; seq <= e->committed; seq++) {
                struct sw_event *r = ring_at(e, seq);
                sub->after = seq;
                if (r && sw_event_filter_match(&sub->filter, r)) {
                    *out = r;
                    return 1;
                }
            }
            wait_more(sub);
            return 0;
        }
        int rc = read_store(sub);
        if (rc)
            return rc;
        if (sub->page_len == 0) /* nothing stored past `after`: go on in the window */
            sub->after = e->len ? e->ring_first - 1 : e->committed;
    }
}

/* ---- retention ---- */

static void prune_below(struct sw_events *e, uint64_t seq)
{
    struct sw_server *s = e->server;
    /* the last event always stays: its sequence carries the numbering over a restart */
    if (seq > e->committed)
        seq = e->committed;
    if (seq <= e->first)
        return;
    struct sw_store_batch *b = sw_server_open_batch(s);
    if (b == NULL || sw_store_batch_add_event_prune(b, seq))
        return;
    e->first = seq;
    ring_trim(e);
}

static void retention_cb(uv_timer_t *timer)
{
    struct sw_events *e = timer->data;
    struct sw_server *s = e->server;
    if (e->committed == 0)
        return;
    uint64_t cut = 0;
    uint64_t kept = e->committed - e->first + 1;
    if (s->cfg.events_max > 0 && kept > (uint64_t)s->cfg.events_max)
        cut = e->committed - (uint64_t)s->cfg.events_max + 1;
    if (s->cfg.events_retention_ms > 0) {
        uint64_t at;
        int64_t before = sw_server_now(s) - s->cfg.events_retention_ms;
        if (s->store->ops->event_seq_at(s->store, before, &at) == 0 && at != 0) {
            if (at == UINT64_MAX)
                at = e->committed;
            if (at > cut)
                cut = at;
        }
    }
    if (cut)
        prune_below(e, cut);
}

/* ---- plumbing ---- */

int sw_events_init(struct sw_server *s)
{
    struct sw_events *e = sw_calloc(1, sizeof *e);
    if (e == NULL)
        return SW_ENOMEM;
    e->server = s;
    s->events = e;
    uint64_t first, last;
    int rc = s->store->ops->event_bounds(s->store, &first, &last);
    if (rc)
        return rc;
    e->first = first ? first : 1;
    e->committed = e->queued = last;
    e->next_seq = last + 1;
    if (ring_grow(e))
        return SW_ENOMEM;
    uv_timer_init(s->loop, &e->retention);
    e->retention.data = e;
    uv_timer_start(&e->retention, retention_cb, RETENTION_EVERY_MS, RETENTION_EVERY_MS);
    return 0;
}

void sw_events_stop_all(struct sw_server *s)
{
    struct sw_events *e = bus(s);
    if (e == NULL)
        return;
    if (!uv_is_closing((uv_handle_t *)&e->retention))
        uv_close((uv_handle_t *)&e->retention, NULL);
}

void sw_events_free(struct sw_server *s)
{
    struct sw_events *e = bus(s);
    if (e == NULL)
        return;
    while (e->waiting)
        unlist(e->waiting);
    for (size_t i = 0; i < e->len; i++)
        sw_event_free(e->ring[(e->head + i) % e->cap]);
    sw_free(e->ring);
    sw_free(e->pending);
    sw_free(e);
    s->events = NULL;
}
