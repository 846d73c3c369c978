/* SPDX-License-Identifier: MIT
 * webhooks.h - webhook subscriptions: each one reads the event log through its own
 * subscription (type patterns) and POSTs every matching event, one at a time and in
 * order, signed with HMAC-SHA256 of "<timestamp>.<body>" under its secret. A non-2xx
 * answer or a timeout retries with exponential backoff from 1 s; after 24 h of failure
 * the subscription is disabled, with an event saying why. The position (the last
 * event delivered) and the retry state are stored with each change, so delivery goes
 * on after a restart (at least once). HTTP runs on libcurl's multi interface driven by
 * the loop (sockets on uv_poll, its timer on a uv_timer): no thread per call. */
#ifndef SW_WEBHOOKS_H
#define SW_WEBHOOKS_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

struct sw_server;
struct sw_webhooks;

/* Limits of a subscription's fields (checked by sw_webhook_check_*). */
#define SW_WEBHOOK_URL_MAX    2048
#define SW_WEBHOOK_SECRET_MIN 16
#define SW_WEBHOOK_SECRET_MAX 256
#define SW_WEBHOOK_TYPES_MAX  32

/* Server plumbing. init before recovery (load adds the stored subscriptions), start
 * once the daemon is ready, stop at the graceful stop (in-flight deliveries are
 * abandoned: they are retried after a restart), free at the end. stop writes the
 * positions not stored yet into the open commit batch, so it must come while the
 * stop still commits (before the last commit_flush), and it closes every handle it
 * started. init reads SWARMD_WEBHOOK_GIVE_UP_MS and SWARMD_WEBHOOK_RETRY_MS (test
 * knobs); a bad value fails with SW_ECONFIG (logged, naming the variable). */
int sw_webhooks_init(struct sw_server *s);
/* One stored row: spec and state are the JSON texts written by this module (borrowed).
 * SW_ESTORE when they cannot be read (logged). */
int sw_webhooks_load(struct sw_server *s, uint64_t id, const char *spec, const char *state);
int sw_webhooks_start(struct sw_server *s);
void sw_webhooks_stop(struct sw_server *s);
void sw_webhooks_free(struct sw_server *s);

/* A new subscription, as validated by the caller. types: patterns (an exact type or a
 * prefix ending in '*'), NULL/0 = every event. */
struct sw_webhook_spec {
    const char *url;
    const char *secret;
    const char *const *types;
    size_t ntypes;
};

/* Field checks: 1 when valid. A URL is http:// or https:// with a host, at most
 * SW_WEBHOOK_URL_MAX bytes; a secret has SW_WEBHOOK_SECRET_MIN..MAX bytes; a type
 * pattern is printable ASCII without spaces, with '*' only at its end. */
int sw_webhook_check_url(const char *url);
int sw_webhook_check_secret(const char *secret);
int sw_webhook_check_type(const char *pattern);

/* Creates a subscription that starts after the last committed event and queues its row
 * in the open commit batch. *id: its number ("w_" form with sw_id_format). */
int sw_webhooks_create(struct sw_server *s, const struct sw_webhook_spec *spec, uint64_t *id);
/* Removes one (its row goes in the open batch; a delivery in flight is abandoned).
 * SW_ENOT_FOUND. */
int sw_webhooks_delete(struct sw_server *s, uint64_t id);
/* Makes a disabled subscription active again: it resumes after the last event it
 * delivered, retry state cleared. Active already: nothing changes. SW_ENOT_FOUND. */
int sw_webhooks_enable(struct sw_server *s, uint64_t id);

/* Appends one subscription as JSON (never its secret). SW_ENOT_FOUND, buffer errors. */
int sw_webhooks_render(struct sw_server *s, uint64_t id, struct sw_buf *out);
/* Appends {"webhooks":[...]} in id order. */
int sw_webhooks_render_list(struct sw_server *s, struct sw_buf *out);
/* Appends the Prometheus text of the delivery counters and the subscriptions by state. */
int sw_webhooks_render_metrics(struct sw_server *s, struct sw_buf *out);

#endif
