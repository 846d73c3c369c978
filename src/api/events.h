/* SPDX-License-Identifier: MIT
 * events.h - the event bus on the loop thread. An event is appended to the open commit
 * batch together with the change it tells of (same transaction) and becomes visible to
 * readers only once that batch is committed. Recent events stay in memory (a window
 * bounded by count and bytes); older ones are read back from the store. Readers are
 * subscriptions (struct sw_sub): a filter and a position; they pull events with
 * sw_events_next, so a slow reader holds nothing but its position, and is woken when
 * new events are committed. Retention (age, count) prunes the log in the background. */
#ifndef SW_EVENTS_H
#define SW_EVENTS_H

#include "model/event.h"

#include <stddef.h>
#include <stdint.h>

struct sw_server;
struct sw_sub;

/* Called on the loop when a caught-up subscription has more to read. It may read from
 * this subscription, but must not stop another one (schedule that instead). */
typedef void (*sw_sub_wake_fn)(struct sw_sub *sub);

/* A reader of the log. Embed it; fill it with sw_sub_init. */
struct sw_sub {
    struct sw_server *server;
    struct sw_event_filter filter; /* owned */
    uint64_t after;                /* the last sequence looked at */
    sw_sub_wake_fn wake;           /* called (once) when caught up and more is committed */
    void *cls;
    /* bus bookkeeping */
    struct sw_sub *prev, *next;
    int listed;
    int waiting;
    struct sw_event **page; /* read ahead from the store (owned) */
    size_t page_len, page_pos;
    struct sw_event *held; /* the last one handed out from the page (owned) */
};

/* `after` for "from now": the last committed sequence at the time of sw_sub_start. */
#define SW_EVENTS_NOW UINT64_MAX

/* Sets up sub (filter moved in: *filter is zeroed). */
void sw_sub_init(struct sw_sub *sub, struct sw_server *s, struct sw_event_filter *filter,
                 uint64_t after, sw_sub_wake_fn wake, void *cls);
/* Starts receiving wakes (at each commit until it is read to the end; then when more
 * is committed). Read what is already there (after < committed) without waiting. */
void sw_sub_start(struct sw_sub *sub);
/* Stops and frees what the subscription holds (not sub itself). Safe twice. */
void sw_sub_stop(struct sw_sub *sub);

/* The next committed event after sub->after that matches its filter:
 *   1  and *ev (borrowed, valid until the next call on sub or the end of the loop turn);
 *      sub->after moves to its sequence,
 *   0  caught up: sub->wake is called once when more events are committed,
 *   SW_EGAP  the events after sub->after were pruned: *first is the first sequence
 *      kept; sub->after moves to first - 1 so the next call goes on from there,
 *   <0 another error (store). */
int sw_events_next(struct sw_sub *sub, const struct sw_event **ev, uint64_t *first);

/* The sequence the next appended event will get (memory revisions use it). */
uint64_t sw_events_next_seq(struct sw_server *s);
/* Appends an event to the open commit batch; data is JSON text (data_len bytes).
 * Returns its sequence, 0 on failure (out of memory). */
uint64_t sw_events_append(struct sw_server *s, const char *type, const char *source,
                          const char *subject, const char *traceparent, const char *data,
                          size_t data_len);
/* An event still in the in-memory window (always true in the turn it was appended). */
const struct sw_event *sw_events_get(struct sw_server *s, uint64_t seq);
/* The last committed sequence (0: none yet); the first one kept (1 until pruned). */
uint64_t sw_events_committed(struct sw_server *s);
uint64_t sw_events_first(struct sw_server *s);

/* Server plumbing (server.c). */
int sw_events_init(struct sw_server *s);
void sw_events_free(struct sw_server *s);
/* The batch `batch_seq` is handed to the writer: it holds the events up to here. */
void sw_events_batch_queued(struct sw_server *s, uint64_t batch_seq);
/* Batches up to batch_seq are committed: publish their events, wake the readers. */
void sw_events_committed_batch(struct sw_server *s, uint64_t batch_seq);
/* Ends every subscription's stream (the daemon stops). */
void sw_events_stop_all(struct sw_server *s);

#endif
