/* SPDX-License-Identifier: MIT
 * webhook_delivery.c - the delivery of webhooks. Each active subscription reads the
 * log through its own sw_sub (no filter: it matches its type patterns itself) and has
 * at most one event in flight, POSTed with its signature through libcurl's multi
 * interface, whose sockets are uv_polls and whose timer is a uv_timer of the loop. A
 * failed attempt is tried again after a growing delay; once the first failure of an
 * event is older than the give-up window the subscription is disabled and an event
 * says so. */
#include "webhooks_int.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "model/task.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define RETRY_MAX_MS       ((int64_t)3600 * 1000)
#define REQUEST_TIMEOUT_MS 10000L
#define PUMP_BATCH         256  /* events looked at in one go before yielding to the loop */
#define STORE_RETRY_MS     1000 /* after a failed read of the log */
#define BODY_ROOM          24   /* room for "<unix seconds>." in front of the body */
#define ERROR_MAX          256

/* One socket libcurl asked the loop to watch. */
struct sw_curl_socket {
    uv_poll_t poll;
    curl_socket_t fd;
    struct sw_webhooks *hooks;
    struct sw_curl_socket *prev, *next;
};

static void pump(struct sw_webhook *w);
static void send_pending(struct sw_webhook *w);
static void delivery_failed(struct sw_webhook *w, const char *err);

static uint64_t next_rand(struct sw_webhooks *h)
{
    uint64_t x = h->rand_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    h->rand_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Copies len bytes of src as printable ASCII, quotes and backslashes as '\''. */
static void clean_text(char *out, size_t size, const char *src, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < size; i++) {
        unsigned char c = (unsigned char)src[i];
        out[n++] = c == '"' || c == '\\' ? '\'' : c < ' ' || c >= 0x7f ? ' ' : (char)c;
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

static int types_match(const struct sw_webhook *w, const char *type)
{
    for (size_t i = 0; i < w->ntypes; i++)
        if (sw_event_pattern_match(w->types[i], type))
            return 1;
    return 0;
}

static void drop_pending(struct sw_webhook *w)
{
    sw_free(w->pending);
    w->pending = NULL;
    w->pending_len = 0;
    w->pending_seq = 0;
}

/* Abandons a request in flight (it will be made again). */
static void abandon(struct sw_webhook *w)
{
    if (w->in_flight && w->hooks->multi)
        curl_multi_remove_handle(w->hooks->multi, w->easy);
    w->in_flight = 0;
}

static void sub_close(struct sw_webhook *w)
{
    if (w->sub_open)
        sw_sub_stop(&w->sub);
    w->sub_open = 0;
}

/* ---- reading the log ---- */

static void timer_cb(uv_timer_t *timer)
{
    struct sw_webhook *w = timer->data;
    if (w->state != SW_WEBHOOK_ACTIVE || w->in_flight || w->hooks->stopped)
        return;
    if (w->pending)
        send_pending(w);
    else
        pump(w);
}

static void schedule(struct sw_webhook *w, int64_t delay_ms)
{
    if (w->timer_init)
        uv_timer_start(&w->timer, timer_cb, (uint64_t)(delay_ms > 0 ? delay_ms : 0), 0);
}

/* More events were committed: look at them from the loop, not from inside the bus. */
static void wake_cb(struct sw_sub *sub)
{
    struct sw_webhook *w = sub->cls;
    if (w->pending == NULL && !w->in_flight && !uv_is_active((uv_handle_t *)&w->timer))
        schedule(w, 0);
}

/* (Re)opens the subscription right after the position. */
static void sub_open(struct sw_webhook *w)
{
    struct sw_event_filter any = {NULL, NULL, NULL};
    sub_close(w);
    sw_sub_init(&w->sub, w->hooks->server, &any, w->position, wake_cb, w);
    sw_sub_start(&w->sub);
    w->sub_open = 1;
}

static int take_event(struct sw_webhook *w, const struct sw_event *ev)
{
    char *copy = sw_malloc(BODY_ROOM + ev->len + 1);
    if (copy == NULL)
        return SW_ENOMEM;
    memcpy(copy + BODY_ROOM, ev->json, ev->len);
    copy[BODY_ROOM + ev->len] = '\0';
    w->pending = copy;
    w->pending_len = ev->len;
    w->pending_seq = ev->seq;
    return 0;
}

/* Looks for the next event to deliver; passes over those of other types. */
static void pump(struct sw_webhook *w)
{
    char id[SW_ID_STRLEN];
    sw__webhook_id(w->id, id);
    for (int n = 0; n < PUMP_BATCH; n++) {
        const struct sw_event *ev = NULL;
        uint64_t first = 0;
        int rc = sw_events_next(&w->sub, &ev, &first);
        if (rc == 0)
            return; /* caught up: wake_cb comes with the next commit */
        if (rc == SW_EGAP) {
            sw_log_warn("webhooks",
                        "msg=\"events pruned before delivery\" webhook=%s after=%llu "
                        "first=%llu",
                        id, (unsigned long long)w->position, (unsigned long long)first);
            w->position = first - 1;
            sw__webhook_mark_dirty(w);
            continue;
        }
        if (rc < 0) {
            schedule(w, STORE_RETRY_MS);
            return;
        }
        if (!types_match(w, ev->type)) {
            w->position = ev->seq;
            sw__webhook_mark_dirty(w);
            continue;
        }
        if (take_event(w, ev)) { /* read it again later */
            sw_log_error("webhooks", "msg=\"out of memory\" webhook=%s seq=%llu", id,
                         (unsigned long long)ev->seq);
            sub_open(w);
            schedule(w, STORE_RETRY_MS);
            return;
        }
        int64_t wait = w->attempt > 0 ? w->next_attempt_at - sw_server_now(w->hooks->server) : 0;
        if (wait > 0)
            schedule(w, wait); /* a retry that was waiting when the daemon stopped */
        else
            send_pending(w);
        return;
    }
    schedule(w, 0); /* more to look at: let the loop breathe first */
}

/* ---- delivery ---- */

static size_t reply_cb(char *data, size_t size, size_t count, void *cls)
{
    struct sw_webhook *w = cls;
    size_t len = size * count, room = sizeof w->reply - 1 - w->reply_len;
    size_t take = len < room ? len : room;
    memcpy(w->reply + w->reply_len, data, take);
    w->reply_len += take;
    return len;
}

static int easy_setup(struct sw_webhook *w)
{
    CURL *e = curl_easy_init();
    if (e == NULL)
        return SW_ENOMEM;
    CURLcode c = curl_easy_setopt(e, CURLOPT_URL, w->url);
    c = c ? c : curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    c = c ? c : curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    c = c ? c : curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    c = c ? c : curl_easy_setopt(e, CURLOPT_USERAGENT, "swarmd/" SW_VERSION);
    c = c ? c : curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, reply_cb);
    c = c ? c : curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
    c = c ? c : curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)w);
    c = c ? c : curl_easy_setopt(e, CURLOPT_ERRORBUFFER, w->curl_error);
    if (c) {
        curl_easy_cleanup(e);
        return c == CURLE_OUT_OF_MEMORY ? SW_ENOMEM : SW_EINTERNAL;
    }
    w->easy = e;
    return 0;
}

/* Puts "<ts>." right before the body and returns HMAC-SHA256(secret, "<ts>.<body>") in
 * hex. */
static int sign(struct sw_webhook *w, long long ts, char hex[65])
{
    char prefix[BODY_ROOM];
    int n = snprintf(prefix, sizeof prefix, "%lld.", ts);
    if (n < 0 || n >= BODY_ROOM)
        return SW_EINTERNAL;
    unsigned char *text = (unsigned char *)w->pending + BODY_ROOM - n;
    memcpy(text, prefix, (size_t)n);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), w->secret, (int)strlen(w->secret), text, (size_t)n + w->pending_len, mac,
             &mac_len) == NULL ||
        mac_len != 32)
        return SW_EINTERNAL;
    for (unsigned int i = 0; i < mac_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

static int set_headers(struct sw_webhook *w, long long ts, const char *signature)
{
    char stamp[64], sig[128], event_id[64];
    snprintf(stamp, sizeof stamp, "X-Swarm-Timestamp: %lld", ts);
    snprintf(sig, sizeof sig, "X-Swarm-Signature: sha256=%s", signature);
    snprintf(event_id, sizeof event_id, "X-Swarm-Event-Id: %llu",
             (unsigned long long)w->pending_seq);
    const char *lines[] = {"Content-Type: application/json", "Expect:", stamp, sig, event_id};
    curl_slist_free_all(w->headers);
    w->headers = NULL;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct curl_slist *l = curl_slist_append(w->headers, lines[i]);
        if (l == NULL)
            return SW_ENOMEM;
        w->headers = l;
    }
    return 0;
}

static int start_request(struct sw_webhook *w, char *err, size_t size)
{
    long long ts = (long long)(sw_server_now(w->hooks->server) / 1000);
    char signature[65];
    int rc = w->easy ? 0 : easy_setup(w);
    rc = rc ? rc : sign(w, ts, signature);
    rc = rc ? rc : set_headers(w, ts, signature);
    if (rc) {
        snprintf(err, size, "cannot prepare the request: %s", sw_strerror(rc));
        return rc;
    }
    CURLcode c = curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, w->pending + BODY_ROOM);
    c = c ? c : curl_easy_setopt(w->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->pending_len);
    c = c ? c : curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
    if (c) {
        snprintf(err, size, "cannot prepare the request: %s", curl_easy_strerror(c));
        return SW_EINTERNAL;
    }
    w->reply_len = 0;
    w->curl_error[0] = '\0';
    CURLMcode mc = curl_multi_add_handle(w->hooks->multi, w->easy);
    if (mc) {
        snprintf(err, size, "cannot start the request: %s", curl_multi_strerror(mc));
        return SW_EINTERNAL;
    }
    w->in_flight = 1;
    return 0;
}

static void send_pending(struct sw_webhook *w)
{
    char err[ERROR_MAX];
    if (start_request(w, err, sizeof err))
        delivery_failed(w, err);
}

static void delivered(struct sw_webhook *w)
{
    int was_retrying = w->attempt > 0;
    w->hooks->delivered++;
    w->position = w->pending_seq;
    drop_pending(w);
    w->attempt = 0;
    w->first_failure_at = w->next_attempt_at = 0;
    w->failures = 0;
    if (was_retrying)
        sw__webhook_persist(w); /* the retry state is gone: say so at once */
    else
        sw__webhook_mark_dirty(w);
    pump(w);
}

/* Tells the log that w gave up, with why. */
static void append_disabled_event(struct sw_webhook *w)
{
    char id[SW_ID_STRLEN], source[32];
    sw__webhook_id(w->id, id);
    snprintf(source, sizeof source, "/webhooks/%s", id);
    json_t *data =
        json_pack("{s:s,s:s,s:s?,s:I,s:s?}", "id", id, "url", w->url, "reason", w->disabled_reason,
                  "failures", (json_int_t)w->failures, "last_error", w->last_error);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (text == NULL || sw_events_append(w->hooks->server, "swarmd.webhook.disabled", source, id,
                                         NULL, text, strlen(text)) == 0)
        sw_log_error("webhooks", "msg=\"cannot append the disabled event\" webhook=%s", id);
    sw_free(text);
}

static void disable(struct sw_webhook *w, int64_t now)
{
    char id[SW_ID_STRLEN], reason[160];
    sw__webhook_id(w->id, id);
    snprintf(reason, sizeof reason, "event %llu was not accepted for %lld ms (%d attempts)",
             (unsigned long long)w->pending_seq, (long long)(now - w->first_failure_at),
             w->attempt);
    sw__webhook_set_text(&w->disabled_reason, reason);
    w->state = SW_WEBHOOK_DISABLED;
    w->hooks->gave_up++;
    drop_pending(w);
    w->attempt = 0;
    w->first_failure_at = w->next_attempt_at = 0;
    sub_close(w);
    if (w->timer_init)
        uv_timer_stop(&w->timer);
    sw_log_warn("webhooks", "msg=\"webhook disabled\" webhook=%s reason=\"%s\" last_error=\"%s\"",
                id, reason, w->last_error ? w->last_error : "");
    append_disabled_event(w);
    sw__webhook_persist(w);
}

static void delivery_failed(struct sw_webhook *w, const char *err)
{
    struct sw_webhooks *h = w->hooks;
    int64_t now = sw_server_now(h->server);
    char id[SW_ID_STRLEN];
    sw__webhook_id(w->id, id);
    h->failed++;
    w->attempt++;
    w->failures++;
    if (w->first_failure_at == 0)
        w->first_failure_at = now;
    sw__webhook_set_text(&w->last_error, err);
    if (now - w->first_failure_at >= h->give_up_ms) {
        disable(w, now);
        return;
    }
    struct sw_backoff backoff = {h->retry_ms, RETRY_MAX_MS, 2.0};
    int64_t delay = sw_backoff_delay_ms(&backoff, w->attempt, next_rand(h));
    w->next_attempt_at = now + delay;
    sw_log_info("webhooks",
                "msg=\"delivery failed\" webhook=%s seq=%llu attempt=%d retry_in_ms=%lld "
                "error=\"%s\"",
                id, (unsigned long long)w->pending_seq, w->attempt, (long long)delay, err);
    sw__webhook_persist(w);
    schedule(w, delay);
}

/* A request ended: a 2xx answer delivered the event; anything else is a failure. */
static void delivery_done(struct sw_webhook *w, CURLcode result)
{
    long status = 0;
    char err[ERROR_MAX], snippet[SW_WEBHOOK_REPLY_SNIPPET];
    w->in_flight = 0;
    curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
    if (result == CURLE_OK && status >= 200 && status < 300) {
        delivered(w);
        return;
    }
    if (result != CURLE_OK) {
        clean_text(err, sizeof err, w->curl_error, strlen(w->curl_error));
        if (err[0] == '\0')
            snprintf(err, sizeof err, "%s", curl_easy_strerror(result));
    } else {
        clean_text(snippet, sizeof snippet, w->reply, w->reply_len);
        snprintf(err, sizeof err, "HTTP %ld%s%s", status, snippet[0] ? ": " : "", snippet);
    }
    delivery_failed(w, err);
}

/* ---- libcurl on the loop ---- */

static void check_done(struct sw_webhooks *h)
{
    CURLMsg *msg;
    int left;
    while (h->multi && (msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        char *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        curl_multi_remove_handle(h->multi, easy);
        if (priv)
            delivery_done((struct sw_webhook *)priv, result);
    }
}

static void poll_cb(uv_poll_t *poll, int status, int events)
{
    struct sw_curl_socket *c = poll->data;
    struct sw_webhooks *h = c->hooks;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, c->fd, flags, &running);
    check_done(h);
}

static void socket_closed_cb(uv_handle_t *handle)
{
    sw_free(handle->data);
}

static void socket_close(struct sw_curl_socket *c)
{
    struct sw_webhooks *h = c->hooks;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->sockets = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->poll, socket_closed_cb);
}

static struct sw_curl_socket *socket_open(struct sw_webhooks *h, curl_socket_t fd)
{
    struct sw_curl_socket *c = sw_calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (uv_poll_init_socket(h->server->loop, &c->poll, fd)) {
        sw_free(c);
        return NULL;
    }
    c->poll.data = c;
    c->fd = fd;
    c->hooks = h;
    c->next = h->sockets;
    if (h->sockets)
        h->sockets->prev = c;
    h->sockets = c;
    curl_multi_assign(h->multi, fd, c);
    return c;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *cls, void *socket_cls)
{
    struct sw_webhooks *h = cls;
    struct sw_curl_socket *c = socket_cls;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            curl_multi_assign(h->multi, fd, NULL);
            socket_close(c);
        }
        return 0;
    }
    if (c == NULL && (c = socket_open(h, fd)) == NULL)
        return -1;
    int events = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    return uv_poll_start(&c->poll, events, poll_cb) ? -1 : 0;
}

static void curl_timer_cb(uv_timer_t *timer)
{
    struct sw_webhooks *h = timer->data;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int curl_timer_fn(CURLM *multi, long timeout_ms, void *cls)
{
    struct sw_webhooks *h = cls;
    if (timeout_ms < 0)
        uv_timer_stop(&h->curl_timer);
    else
        uv_timer_start(&h->curl_timer, curl_timer_cb, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- what webhooks.c calls ---- */

int sw__webhooks_http_start(struct sw_webhooks *h)
{
    if ((h->multi = curl_multi_init()) == NULL)
        return SW_ENOMEM;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, curl_timer_fn);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    uv_timer_init(h->server->loop, &h->curl_timer);
    h->curl_timer.data = h;
    return 0;
}

void sw__webhooks_http_stop(struct sw_webhooks *h)
{
    curl_multi_cleanup(h->multi); /* closes the cached connections (their polls too) */
    h->multi = NULL;
    while (h->sockets)
        socket_close(h->sockets);
    uv_close((uv_handle_t *)&h->curl_timer, NULL);
}

void sw__webhook_run(struct sw_webhook *w)
{
    uv_timer_init(w->hooks->server->loop, &w->timer);
    w->timer.data = w;
    w->timer_init = 1;
    if (w->state == SW_WEBHOOK_ACTIVE)
        sw__webhook_resume(w);
}

void sw__webhook_resume(struct sw_webhook *w)
{
    sub_open(w);
    schedule(w, 0);
}

void sw__webhook_halt(struct sw_webhook *w)
{
    abandon(w);
    sub_close(w);
}

void sw__webhook_release(struct sw_webhook *w)
{
    if (w->easy)
        curl_easy_cleanup(w->easy);
    w->easy = NULL;
    curl_slist_free_all(w->headers);
    w->headers = NULL;
    drop_pending(w);
}
