/* SPDX-License-Identifier: MIT
 * webhooks.c - webhook subscriptions: created, listed, deleted and enabled through the
 * API (webhooks_api.c), stored with their delivery state, and rendered as JSON. The
 * state (position, retry state) is written with every retry, disable, enable and
 * delete; positions moved by deliveries are written at most once a second and at the
 * stop, so a crash may deliver again what came after the last write (at least once).
 * The delivery itself is webhook_delivery.c. */
#include "webhooks_int.h"
#include "server.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "model/task.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GIVE_UP_MS_DEFAULT ((int64_t)24 * 3600 * 1000)
#define RETRY_MS_DEFAULT   1000
#define KNOB_MAX_MS        ((int64_t)366 * 24 * 3600 * 1000)
#define FLUSH_MS           1000 /* a position moved by deliveries is stored within this */

static const char *const state_names[] = {"active", "disabled"};

static struct sw_webhooks *hooks_of(struct sw_server *s)
{
    return s->webhooks;
}

int sw__webhook_set_text(char **field, const char *value)
{
    char *copy = value ? sw_strdup(value) : NULL;
    if (value && copy == NULL)
        return SW_ENOMEM;
    sw_free(*field);
    *field = copy;
    return 0;
}

/* ---- field checks ---- */

int sw_webhook_check_url(const char *url)
{
    size_t n = strlen(url);
    if (n == 0 || n > SW_WEBHOOK_URL_MAX ||
        (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= ' ' || (unsigned char)url[i] >= 0x7f)
            return 0;
    CURLU *u = curl_url();
    char *host = NULL;
    int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

int sw_webhook_check_secret(const char *secret)
{
    size_t n = strlen(secret);
    return n >= SW_WEBHOOK_SECRET_MIN && n <= SW_WEBHOOK_SECRET_MAX;
}

int sw_webhook_check_type(const char *pattern)
{
    size_t n = strlen(pattern);
    if (n == 0 || n > SW_EVENT_FIELD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)pattern[i];
        if (c <= ' ' || c >= 0x7f || (c == '*' && i != n - 1))
            return 0;
    }
    return 1;
}

/* ---- one subscription's memory ---- */

static struct sw_webhook *webhook_new(struct sw_webhooks *h, uint64_t id)
{
    struct sw_webhook *w = sw_calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->hooks = h;
    w->id = id;
    return w;
}

static int webhook_set_types(struct sw_webhook *w, const char *const *types, size_t n)
{
    static const char *const all[] = {"*"};
    if (n == 0)
        types = all, n = 1;
    w->types = sw_calloc(n, sizeof *w->types);
    if (w->types == NULL)
        return SW_ENOMEM;
    for (size_t i = 0; i < n; i++, w->ntypes++)
        if ((w->types[i] = sw_strdup(types[i])) == NULL)
            return SW_ENOMEM;
    return 0;
}

static void webhook_free(struct sw_webhook *w)
{
    sw__webhook_release(w);
    for (size_t i = 0; i < w->ntypes; i++)
        sw_free(w->types[i]);
    sw_free(w->types);
    sw_free(w->url);
    sw_free(w->secret);
    sw_free(w->spec_json);
    sw_free(w->last_error);
    sw_free(w->disabled_reason);
    sw_free(w);
}

static void timer_closed_cb(uv_handle_t *handle)
{
    webhook_free(handle->data);
}

/* ---- stored form ---- */

static char *spec_render(const struct sw_webhook *w)
{
    json_t *types = json_array();
    for (size_t i = 0; types && i < w->ntypes; i++)
        if (json_array_append_new(types, json_string(w->types[i]))) {
            json_decref(types);
            return NULL;
        }
    json_t *o = json_pack("{s:s,s:o,s:s,s:I}", "url", w->url, "types", types, "secret", w->secret,
                          "created_at", (json_int_t)w->created_at);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static char *state_render(const struct sw_webhook *w)
{
    json_t *o =
        json_pack("{s:I,s:s,s:i,s:I,s:I,s:I,s:s?,s:s?}", "delivered_seq", (json_int_t)w->position,
                  "state", state_names[w->state], "attempt", w->attempt, "next_attempt_at",
                  (json_int_t)w->next_attempt_at, "first_failure_at",
                  (json_int_t)w->first_failure_at, "failures", (json_int_t)w->failures,
                  "last_error", w->last_error, "disabled_reason", w->disabled_reason);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static void flush_cb(uv_timer_t *timer);

/* The position moved: it is stored within FLUSH_MS. */
void sw__webhook_mark_dirty(struct sw_webhook *w)
{
    struct sw_webhooks *h = w->hooks;
    w->dirty = 1;
    if (h->started && !h->stopped && !uv_is_active((uv_handle_t *)&h->flush_timer))
        uv_timer_start(&h->flush_timer, flush_cb, FLUSH_MS, 0);
}

/* Queues the subscription's row in the open commit batch. */
int sw__webhook_persist(struct sw_webhook *w)
{
    char *state = state_render(w);
    struct sw_store_batch *b = state ? sw_server_open_batch(w->hooks->server) : NULL;
    int rc = b ? sw_store_batch_add_webhook(b, w->id, w->spec_json, state) : SW_ENOMEM;
    sw_free(state);
    if (rc) {
        char id[SW_ID_STRLEN];
        sw__webhook_id(w->id, id);
        sw_log_error("webhooks", "msg=\"cannot queue the state\" webhook=%s err=%s", id,
                     sw_strerror(rc));
        sw__webhook_mark_dirty(w); /* tried again at the next flush */
        return rc;
    }
    w->dirty = 0;
    return 0;
}

static void flush_all(struct sw_webhooks *h)
{
    size_t pos = 0;
    void *value;
    while (sw_map_next(&h->by_id, &pos, NULL, &value)) {
        struct sw_webhook *w = value;
        if (w->dirty && sw__webhook_persist(w))
            break;
    }
}

static void flush_cb(uv_timer_t *timer)
{
    flush_all(timer->data);
}

/* ---- plumbing ---- */

static int env_ms(const char *name, int64_t fallback, int64_t *out)
{
    const char *text = getenv(name);
    *out = fallback;
    if (text == NULL || *text == '\0')
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 1 || v > KNOB_MAX_MS) {
        sw_log_error("webhooks",
                     "msg=\"bad environment variable\" key=%s value=\"%s\" "
                     "want=\"milliseconds from 1 to %lld\"",
                     name, text, (long long)KNOB_MAX_MS);
        return SW_ECONFIG;
    }
    *out = v;
    return 0;
}

int sw_webhooks_init(struct sw_server *s)
{
    struct sw_webhooks *h = sw_calloc(1, sizeof *h);
    if (h == NULL)
        return SW_ENOMEM;
    h->server = s;
    sw_map_init(&h->by_id);
    h->rand_state = (uint64_t)sw_clock_mono_us() | 1;
    s->webhooks = h;
    int rc = env_ms("SWARMD_WEBHOOK_GIVE_UP_MS", GIVE_UP_MS_DEFAULT, &h->give_up_ms);
    rc = rc ? rc : env_ms("SWARMD_WEBHOOK_RETRY_MS", RETRY_MS_DEFAULT, &h->retry_ms);
    if (rc)
        return rc;
    if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, sw_malloc, sw_free, sw_realloc, sw_strdup,
                             sw_calloc) != CURLE_OK) {
        sw_log_error("webhooks", "msg=\"libcurl failed to start\"");
        return SW_EINTERNAL;
    }
    h->curl_ready = 1;
    return 0;
}

static int load_spec(struct sw_webhook *w, const char *spec)
{
    json_t *o = spec ? json_loads(spec, 0, NULL) : NULL, *types = json_object_get(o, "types");
    const char *url = json_string_value(json_object_get(o, "url"));
    const char *secret = json_string_value(json_object_get(o, "secret"));
    size_t n = json_array_size(types);
    const char *patterns[SW_WEBHOOK_TYPES_MAX];
    int rc = url && secret && n > 0 && n <= SW_WEBHOOK_TYPES_MAX ? 0 : SW_ESTORE;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((patterns[i] = json_string_value(json_array_get(types, i))) == NULL)
            rc = SW_ESTORE;
    w->created_at = json_integer_value(json_object_get(o, "created_at"));
    if (rc == 0 && ((w->url = sw_strdup(url)) == NULL || (w->secret = sw_strdup(secret)) == NULL ||
                    (w->spec_json = sw_strdup(spec)) == NULL))
        rc = SW_ENOMEM;
    rc = rc ? rc : webhook_set_types(w, patterns, n);
    json_decref(o);
    return rc;
}

static int load_state(struct sw_webhook *w, const char *state)
{
    json_t *o = state ? json_loads(state, 0, NULL) : NULL;
    const char *name = json_string_value(json_object_get(o, "state"));
    if (o == NULL || name == NULL) {
        json_decref(o);
        return SW_ESTORE;
    }
    w->state = strcmp(name, "disabled") == 0 ? SW_WEBHOOK_DISABLED : SW_WEBHOOK_ACTIVE;
    w->position = (uint64_t)json_integer_value(json_object_get(o, "delivered_seq"));
    w->attempt = (int)json_integer_value(json_object_get(o, "attempt"));
    w->next_attempt_at = json_integer_value(json_object_get(o, "next_attempt_at"));
    w->first_failure_at = json_integer_value(json_object_get(o, "first_failure_at"));
    w->failures = (uint64_t)json_integer_value(json_object_get(o, "failures"));
    int rc =
        sw__webhook_set_text(&w->last_error, json_string_value(json_object_get(o, "last_error")));
    rc = rc ? rc
            : sw__webhook_set_text(&w->disabled_reason,
                                   json_string_value(json_object_get(o, "disabled_reason")));
    json_decref(o);
    return rc;
}

int sw_webhooks_load(struct sw_server *s, uint64_t id, const char *spec, const char *state)
{
    struct sw_webhooks *h = hooks_of(s);
    struct sw_webhook *w = webhook_new(h, id);
    int rc = w ? load_spec(w, spec) : SW_ENOMEM;
    rc = rc ? rc : load_state(w, state);
    rc = rc ? rc : sw_map_put(&h->by_id, id, w);
    if (rc) {
        char text[SW_ID_STRLEN];
        sw__webhook_id(id, text);
        sw_log_error("webhooks", "msg=\"cannot load a webhook\" webhook=%s err=%s", text,
                     sw_strerror(rc));
        if (w)
            webhook_free(w);
        return rc;
    }
    if (id > h->last_id)
        h->last_id = id;
    return 0;
}

int sw_webhooks_start(struct sw_server *s)
{
    struct sw_webhooks *h = hooks_of(s);
    int rc = sw__webhooks_http_start(h);
    if (rc)
        return rc;
    uv_timer_init(s->loop, &h->flush_timer);
    h->flush_timer.data = h;
    h->started = 1;
    size_t pos = 0;
    void *value;
    while (sw_map_next(&h->by_id, &pos, NULL, &value))
        sw__webhook_run(value);
    sw_log_info("webhooks", "msg=\"started\" webhooks=%zu", h->by_id.count);
    return 0;
}

void sw_webhooks_stop(struct sw_server *s)
{
    struct sw_webhooks *h = hooks_of(s);
    if (h == NULL || h->stopped)
        return;
    h->stopped = 1;
    if (!h->started)
        return;
    size_t pos = 0;
    void *value;
    while (sw_map_next(&h->by_id, &pos, NULL, &value)) {
        struct sw_webhook *w = value;
        sw__webhook_halt(w);
        if (w->dirty)
            sw__webhook_persist(w);
        if (w->timer_init)
            uv_close((uv_handle_t *)&w->timer, NULL); /* freed by sw_webhooks_free */
    }
    sw__webhooks_http_stop(h);
    uv_close((uv_handle_t *)&h->flush_timer, NULL);
}

void sw_webhooks_free(struct sw_server *s)
{
    struct sw_webhooks *h = hooks_of(s);
    if (h == NULL)
        return;
    size_t pos = 0;
    void *value;
    while (sw_map_next(&h->by_id, &pos, NULL, &value))
        webhook_free(value);
    sw_map_free(&h->by_id);
    if (h->curl_ready)
        curl_global_cleanup();
    sw_free(h);
    s->webhooks = NULL;
}

/* ---- the API's operations ---- */

static int usable(struct sw_webhooks *h)
{
    return h == NULL ? SW_ENOT_READY : h->stopped ? SW_ESHUTTING_DOWN : 0;
}

static struct sw_webhook *find(struct sw_webhooks *h, uint64_t id)
{
    return h ? sw_map_get(&h->by_id, id) : NULL;
}

int sw_webhooks_create(struct sw_server *s, const struct sw_webhook_spec *spec, uint64_t *id)
{
    struct sw_webhooks *h = hooks_of(s);
    int rc = usable(h);
    if (rc)
        return rc;
    int64_t now = sw_server_now(s);
    struct sw_webhook *w = webhook_new(h, sw_id_next(&h->last_id, now));
    if (w == NULL)
        return SW_ENOMEM;
    w->created_at = now;
    w->position = sw_events_committed(s);
    if ((w->url = sw_strdup(spec->url)) == NULL || (w->secret = sw_strdup(spec->secret)) == NULL)
        rc = SW_ENOMEM;
    rc = rc ? rc : webhook_set_types(w, spec->types, spec->ntypes);
    if (rc == 0 && (w->spec_json = spec_render(w)) == NULL)
        rc = SW_ENOMEM;
    rc = rc ? rc : sw_map_put(&h->by_id, w->id, w);
    if (rc == 0 && (rc = sw__webhook_persist(w)))
        sw_map_del(&h->by_id, w->id);
    if (rc) {
        webhook_free(w);
        return rc;
    }
    char text[SW_ID_STRLEN];
    sw__webhook_id(w->id, text);
    sw_log_info("webhooks", "msg=\"webhook created\" webhook=%s after=%llu", text,
                (unsigned long long)w->position);
    if (h->started)
        sw__webhook_run(w);
    *id = w->id;
    return 0;
}

int sw_webhooks_delete(struct sw_server *s, uint64_t id)
{
    struct sw_webhooks *h = hooks_of(s);
    int rc = usable(h);
    struct sw_webhook *w = rc ? NULL : find(h, id);
    if (rc || w == NULL)
        return rc ? rc : SW_ENOT_FOUND;
    struct sw_store_batch *b = sw_server_open_batch(s);
    if ((rc = b ? sw_store_batch_add_webhook(b, id, NULL, NULL) : SW_ENOMEM))
        return rc;
    sw_map_del(&h->by_id, id);
    sw__webhook_halt(w);
    if (w->timer_init)
        uv_close((uv_handle_t *)&w->timer, timer_closed_cb);
    else
        webhook_free(w);
    char text[SW_ID_STRLEN];
    sw__webhook_id(id, text);
    sw_log_info("webhooks", "msg=\"webhook deleted\" webhook=%s", text);
    return 0;
}

int sw_webhooks_enable(struct sw_server *s, uint64_t id)
{
    struct sw_webhooks *h = hooks_of(s);
    int rc = usable(h);
    struct sw_webhook *w = rc ? NULL : find(h, id);
    if (rc || w == NULL)
        return rc ? rc : SW_ENOT_FOUND;
    if (w->state == SW_WEBHOOK_ACTIVE)
        return 0;
    w->state = SW_WEBHOOK_ACTIVE;
    sw__webhook_set_text(&w->disabled_reason, NULL);
    w->attempt = 0;
    w->first_failure_at = w->next_attempt_at = 0;
    w->failures = 0;
    rc = sw__webhook_persist(w);
    char text[SW_ID_STRLEN];
    sw__webhook_id(id, text);
    sw_log_info("webhooks", "msg=\"webhook enabled\" webhook=%s after=%llu", text,
                (unsigned long long)w->position);
    if (h->started)
        sw__webhook_resume(w);
    return rc;
}

/* ---- rendering ---- */

static int render_time(struct sw_buf *out, const char *key, int64_t ms)
{
    char text[32];
    if (ms == 0)
        return sw_buf_appendf(out, ",\"%s\":null", key);
    sw_clock_format_rfc3339(ms, text, sizeof text);
    return sw_buf_appendf(out, ",\"%s\":\"%s\"", key, text);
}

static int render_text(struct sw_buf *out, const char *key, const char *value)
{
    int rc = sw_buf_appendf(out, ",\"%s\":", key);
    return rc ? rc : value ? sw_json_append_string(out, value) : sw_buf_appendstr(out, "null");
}

/* The event being delivered and its retries; null when none. */
static int render_pending(const struct sw_webhook *w, struct sw_buf *out)
{
    if (w->pending_seq == 0 && w->attempt == 0)
        return sw_buf_appendstr(out, ",\"pending\":null");
    int rc = w->pending_seq ? sw_buf_appendf(out, ",\"pending\":{\"seq\":%llu",
                                             (unsigned long long)w->pending_seq)
                            : sw_buf_appendstr(out, ",\"pending\":{\"seq\":null");
    rc = rc ? rc
            : sw_buf_appendf(out, ",\"attempts\":%d,\"in_flight\":%s", w->attempt,
                             w->in_flight ? "true" : "false");
    rc = rc ? rc : render_time(out, "first_failure_at", w->first_failure_at);
    rc = rc ? rc : render_time(out, "next_attempt_at", w->attempt ? w->next_attempt_at : 0);
    return rc ? rc : sw_buf_appendstr(out, "}");
}

static int webhook_render(const struct sw_webhook *w, struct sw_buf *out)
{
    char id[SW_ID_STRLEN];
    sw__webhook_id(w->id, id);
    int rc = sw_buf_appendf(out, "{\"id\":\"%s\",\"url\":", id);
    rc = rc ? rc : sw_json_append_string(out, w->url);
    rc = rc ? rc : sw_buf_appendstr(out, ",\"types\":[");
    for (size_t i = 0; rc == 0 && i < w->ntypes; i++) {
        rc = i ? sw_buf_appendstr(out, ",") : 0;
        rc = rc ? rc : sw_json_append_string(out, w->types[i]);
    }
    rc = rc ? rc : sw_buf_appendf(out, "],\"state\":\"%s\"", state_names[w->state]);
    rc = rc ? rc : render_time(out, "created_at", w->created_at);
    rc = rc ? rc : sw_buf_appendf(out, ",\"delivered_seq\":%llu", (unsigned long long)w->position);
    rc = rc ? rc : render_pending(w, out);
    rc = rc ? rc : sw_buf_appendf(out, ",\"failures\":%llu", (unsigned long long)w->failures);
    rc = rc ? rc : render_text(out, "last_error", w->last_error);
    rc = rc ? rc : render_text(out, "disabled_reason", w->disabled_reason);
    return rc ? rc : sw_buf_appendstr(out, "}");
}

int sw_webhooks_render(struct sw_server *s, uint64_t id, struct sw_buf *out)
{
    struct sw_webhook *w = find(hooks_of(s), id);
    return w ? webhook_render(w, out) : SW_ENOT_FOUND;
}

static int by_id_cmp(const void *x, const void *y)
{
    uint64_t a = (*(struct sw_webhook *const *)x)->id, b = (*(struct sw_webhook *const *)y)->id;
    return a < b ? -1 : a > b;
}

int sw_webhooks_render_list(struct sw_server *s, struct sw_buf *out)
{
    struct sw_webhooks *h = hooks_of(s);
    size_t n = h ? h->by_id.count : 0, i = 0, pos = 0;
    struct sw_webhook **all = sw_calloc(n ? n : 1, sizeof *all);
    void *value;
    if (all == NULL)
        return SW_ENOMEM;
    while (i < n && sw_map_next(&h->by_id, &pos, NULL, &value))
        all[i++] = value;
    qsort(all, i, sizeof *all, by_id_cmp);
    int rc = sw_buf_appendstr(out, "{\"webhooks\":[");
    for (size_t k = 0; rc == 0 && k < i; k++) {
        rc = k ? sw_buf_appendstr(out, ",") : 0;
        rc = rc ? rc : webhook_render(all[k], out);
    }
    sw_free(all);
    return rc ? rc : sw_buf_appendstr(out, "]}");
}

int sw_webhooks_render_metrics(struct sw_server *s, struct sw_buf *out)
{
    struct sw_webhooks *h = hooks_of(s);
    uint64_t active = 0, disabled = 0, delivered = h ? h->delivered : 0;
    uint64_t failed = h ? h->failed : 0, gave_up = h ? h->gave_up : 0;
    size_t pos = 0;
    void *value;
    while (h && sw_map_next(&h->by_id, &pos, NULL, &value)) {
        if (((struct sw_webhook *)value)->state == SW_WEBHOOK_ACTIVE)
            active++;
        else
            disabled++;
    }
    return sw_buf_appendf(
        out,
        "# HELP swarmd_webhook_deliveries_total Events delivered to webhooks (2xx answers).\n"
        "# TYPE swarmd_webhook_deliveries_total counter\n"
        "swarmd_webhook_deliveries_total %llu\n"
        "# HELP swarmd_webhook_failures_total Webhook delivery attempts that failed.\n"
        "# TYPE swarmd_webhook_failures_total counter\n"
        "swarmd_webhook_failures_total %llu\n"
        "# HELP swarmd_webhook_disabled_total Webhooks disabled after the give-up window.\n"
        "# TYPE swarmd_webhook_disabled_total counter\n"
        "swarmd_webhook_disabled_total %llu\n"
        "# HELP swarmd_webhooks Webhooks by state.\n"
        "# TYPE swarmd_webhooks gauge\n"
        "swarmd_webhooks{state=\"active\"} %llu\n"
        "swarmd_webhooks{state=\"disabled\"} %llu\n",
        (unsigned long long)delivered, (unsigned long long)failed, (unsigned long long)gave_up,
        (unsigned long long)active, (unsigned long long)disabled);
}
