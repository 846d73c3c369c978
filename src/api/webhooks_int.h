/* SPDX-License-Identifier: MIT
 * webhooks_int.h - what the two halves of the webhooks share, and no other file
 * touches: webhooks.c keeps the subscriptions (the API's operations, their stored
 * form, rendering, start and stop) and webhook_delivery.c delivers (reading the log,
 * the signed requests, retries and giving up, libcurl's multi interface on the loop). */
#ifndef SW_WEBHOOKS_INT_H
#define SW_WEBHOOKS_INT_H

#include "api/events.h"
#include "api/webhooks.h"
#include "core/ids.h"
#include "core/map.h"

#include <curl/curl.h>
#include <stdint.h>
#include <uv.h>

#define SW_WEBHOOK_REPLY_SNIPPET 96 /* bytes of a refusing answer kept for last_error */

enum sw_webhook_state { SW_WEBHOOK_ACTIVE, SW_WEBHOOK_DISABLED };

struct sw_webhook {
    struct sw_webhooks *hooks;
    uint64_t id;
    char *url, *secret; /* owned */
    char **types;       /* owned patterns, at least one */
    size_t ntypes;
    char *spec_json; /* owned: the stored spec */
    int64_t created_at;
    /* the stored state */
    enum sw_webhook_state state;
    uint64_t position; /* the last event delivered or passed over */
    int attempt;       /* failed attempts of the pending event */
    int64_t first_failure_at, next_attempt_at;
    uint64_t failures;                  /* failed attempts since the last delivery */
    char *last_error, *disabled_reason; /* owned or NULL */
    /* the event being delivered: room for "<timestamp>." then its CloudEvent (owned) */
    uint64_t pending_seq;
    char *pending;
    size_t pending_len;
    /* runtime */
    struct sw_sub sub;
    int sub_open;
    uv_timer_t timer; /* the next attempt, or a deferred read of the log */
    int timer_init;
    CURL *easy;
    struct curl_slist *headers;
    int in_flight;
    char reply[SW_WEBHOOK_REPLY_SNIPPET];
    size_t reply_len;
    char curl_error[CURL_ERROR_SIZE];
    int dirty; /* the position moved since it was stored */
};

struct sw_curl_socket;

struct sw_webhooks {
    struct sw_server *server;
    struct sw_map by_id; /* id -> struct sw_webhook */
    uint64_t last_id;
    int64_t give_up_ms, retry_ms;
    uint64_t rand_state;
    CURLM *multi;
    uv_timer_t curl_timer, flush_timer;
    struct sw_curl_socket *sockets; /* the polls of libcurl's sockets */
    int curl_ready, started, stopped;
    uint64_t delivered, failed, gave_up;
};

static inline void sw__webhook_id(uint64_t id, char out[SW_ID_STRLEN])
{
    sw_id_format('w', id, out);
}

/* webhooks.c: queues w's row in the open commit batch now (0, or SW_ENOMEM: logged, and
 * tried again at the next flush); or within a second (the position moved). */
int sw__webhook_persist(struct sw_webhook *w);
void sw__webhook_mark_dirty(struct sw_webhook *w);
/* Replaces an owned string with a copy of value (NULL clears). */
int sw__webhook_set_text(char **field, const char *value);

/* webhook_delivery.c: the multi handle and its timer (start), all closed (stop). */
int sw__webhooks_http_start(struct sw_webhooks *h);
void sw__webhooks_http_stop(struct sw_webhooks *h);
/* Sets up w's timer; an active w starts reading the log after its position. */
void sw__webhook_run(struct sw_webhook *w);
/* w was made active again: reading starts over after its position. */
void sw__webhook_resume(struct sw_webhook *w);
/* Abandons the request in flight (made again later) and stops reading the log. */
void sw__webhook_halt(struct sw_webhook *w);
/* Frees what delivery holds (the request, the pending event); not w itself. */
void sw__webhook_release(struct sw_webhook *w);

#endif
