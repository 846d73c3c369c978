/* SPDX-License-Identifier: MIT
 * task.c - task states, transitions after failure, backoff, graph fields, JSON rendering. */
#include "task.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/ids.h"

#include <math.h>
#include <string.h>

const char *const sw_task_state_names[SW_TASK_NSTATES] = {
    "scheduled", "queued", "running", "succeeded", "failed", "cancelled", "waiting",
};

static const char *const fan_in_names[] = {NULL, "all", "any", "quorum"};

int sw_task_state_parse(const char *name, enum sw_task_state *state)
{
    for (int i = 0; i < SW_TASK_NSTATES; i++) {
        if (strcmp(name, sw_task_state_names[i]) == 0) {
            *state = (enum sw_task_state)i;
            return 0;
        }
    }
    return SW_EINVAL;
}

int sw_task_state_terminal(enum sw_task_state state)
{
    return state == SW_TASK_SUCCEEDED || state == SW_TASK_FAILED || state == SW_TASK_CANCELLED;
}

const char *sw_fan_in_name(int fan_in)
{
    return fan_in > 0 && fan_in <= SW_FAN_IN_QUORUM ? fan_in_names[fan_in] : NULL;
}

int sw_fan_in_parse(const char *name, int *fan_in)
{
    for (int i = SW_FAN_IN_ALL; i <= SW_FAN_IN_QUORUM; i++) {
        if (strcmp(name, fan_in_names[i]) == 0) {
            *fan_in = i;
            return 0;
        }
    }
    return SW_EINVAL;
}

struct sw_task *sw_task_new(void)
{
    struct sw_task *t = sw_calloc(1, sizeof *t);
    if (t)
        t->heap_index = (size_t)-1;
    return t;
}

void sw_task_free(struct sw_task *t)
{
    if (t == NULL)
        return;
    sw_free(t->capability);
    sw_free(t->payload);
    sw_free(t->labels);
    sw_free(t->idempotency_key);
    sw_free(t->swarm);
    sw_free(t->route);
    sw_free(t->selector);
    sw_free(t->affinity);
    sw_free(t->result);
    sw_free(t->error);
    sw_free(t->progress);
    sw_free(t->after);
    if (t->links) {
        sw_free(t->links->dependents);
        sw_free(t->links->children);
        sw_free(t->links);
    }
    sw_free(t);
}

int sw_task_set_str(char **field, const char *value)
{
    char *copy = NULL;
    if (value && (copy = sw_strdup(value)) == NULL)
        return SW_ENOMEM;
    sw_free(*field);
    *field = copy;
    return 0;
}

static int render_ids(struct sw_buf *out, const uint64_t *ids, size_t n)
{
    char id[SW_ID_STRLEN];
    int rc = sw_buf_append(out, "[", 1);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sw_id_format('t', ids[i], id);
        rc = sw_buf_appendf(out, "%s\"%s\"", i ? "," : "", id);
    }
    return rc ? rc : sw_buf_append(out, "]", 1);
}

int sw_task_after_render(const struct sw_task *t, struct sw_buf *out)
{
    return render_ids(out, t->after, t->nafter);
}

int sw_task_after_parse(struct sw_task *t, const char *text)
{
    size_t cap = 0;
    for (const char *p = text; *p; p++)
        cap += *p == '"';
    cap /= 2;
    uint64_t *ids = cap ? sw_calloc(cap, sizeof *ids) : NULL;
    if (cap && ids == NULL)
        return SW_ENOMEM;
    size_t n = 0;
    const char *p = strchr(text, '[');
    int rc = p ? 0 : SW_EINVAL;
    while (rc == 0 && p && (p = strchr(p, '"')) != NULL) {
        const char *end = strchr(p + 1, '"');
        char id[SW_ID_STRLEN];
        if (end == NULL || end - p - 1 != SW_ID_STRLEN - 1 || n == cap) {
            rc = SW_EINVAL;
            break;
        }
        memcpy(id, p + 1, SW_ID_STRLEN - 1);
        id[SW_ID_STRLEN - 1] = '\0';
        rc = sw_id_parse('t', id, &ids[n++]);
        p = end + 1;
    }
    if (rc) {
        sw_free(ids);
        return rc;
    }
    sw_free(t->after);
    t->after = n ? ids : NULL;
    t->nafter = n;
    if (n == 0)
        sw_free(ids);
    return 0;
}

int64_t sw_backoff_delay_ms(const struct sw_backoff *b, int attempt, uint64_t rand64)
{
    double delay = (double)b->initial_ms;
    for (int i = 1; i < attempt && delay < (double)b->max_ms; i++)
        delay *= b->multiplier;
    if (delay > (double)b->max_ms)
        delay = (double)b->max_ms;
    int64_t d = (int64_t)delay;
    if (d <= 1)
        return d < 0 ? 0 : d;
    int64_t half = d / 2;
    return half + (int64_t)(rand64 % (uint64_t)(d - half + 1));
}

void sw_task_after_failure(struct sw_task *t, int retry, int64_t now, uint64_t rand64)
{
    t->updated_at = now;
    if (retry && t->attempt < t->max_attempts) {
        t->state = SW_TASK_SCHEDULED;
        t->run_at = now + sw_backoff_delay_ms(&t->backoff, t->attempt, rand64);
        return;
    }
    t->state = SW_TASK_FAILED;
    t->dead = 1;
    t->finished_at = now;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one. */
static int utf8_sequence(const unsigned char *p)
{
    int len = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (len == 0 || p[0] > 0xF4)
        return 0;
    for (int i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) ||
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
        return 0; /* overlong, surrogate or past U+10FFFF */
    return len;
}

int sw_json_append_string(struct sw_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = sw_buf_append(out, "\"", 1);
    const unsigned char *run = (const unsigned char *)s, *p = run;
    while (rc == 0 && *p) {
        unsigned char c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        int len = c >= 0x80 ? utf8_sequence(p) : 1;
        if (c >= 0x80 && len > 0) {
            p += len;
            continue;
        }
        rc = sw_buf_append(out, run, (size_t)(p - run));
        char esc[7] = {'\\', (char)c, 0};
        if (c == '\n')
            esc[1] = 'n';
        else if (c == '\t')
            esc[1] = 't';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c >= 0x80)
            memcpy(esc, "\\ufffd", 7); /* not UTF-8: the replacement character */
        else if (c < 0x20)
            memcpy(esc, (char[]){'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0}, 7);
        if (rc == 0)
            rc = sw_buf_appendstr(out, esc);
        run = ++p;
    }
    if (rc == 0)
        rc = sw_buf_append(out, run, (size_t)(p - run));
    if (rc == 0)
        rc = sw_buf_append(out, "\"", 1);
    return rc;
}

static int render_time(struct sw_buf *out, const char *key, int64_t wall_ms)
{
    char ts[40];
    if (wall_ms <= 0)
        return sw_buf_appendf(out, ",\"%s\":null", key);
    sw_clock_format_rfc3339(wall_ms, ts, sizeof ts);
    return sw_buf_appendf(out, ",\"%s\":\"%s\"", key, ts);
}

static int render_opt_string(struct sw_buf *out, const char *key, const char *value)
{
    int rc = sw_buf_appendf(out, ",\"%s\":", key);
    if (rc == 0)
        rc = value ? sw_json_append_string(out, value) : sw_buf_appendstr(out, "null");
    return rc;
}

static int render_id(struct sw_buf *out, const char *key, char prefix, uint64_t id)
{
    char text[SW_ID_STRLEN];
    if (id == 0)
        return sw_buf_appendf(out, ",\"%s\":null", key);
    sw_id_format(prefix, id, text);
    return sw_buf_appendf(out, ",\"%s\":\"%s\"", key, text);
}

static int render_raw(struct sw_buf *out, const char *key, const char *json)
{
    if (json == NULL)
        return 0;
    int rc = sw_buf_appendf(out, ",\"%s\":", key);
    return rc ? rc : sw_buf_appendstr(out, json);
}

/* after, and for a parent: fan_in, quorum, its children's ids (the first
 * SW_TASK_RENDER_CHILDREN) and their count. */
static int render_graph(const struct sw_task *t, struct sw_buf *out)
{
    int rc = 0;
    if (t->nafter) {
        rc = sw_buf_appendstr(out, ",\"after\":");
        rc = rc ? rc : sw_task_after_render(t, out);
    }
    if (rc == 0 && t->blocked)
        rc = sw_buf_appendstr(out, ",\"blocked\":true"); /* waits for its dependencies */
    if (rc == 0 && t->fan_in) {
        rc = sw_buf_appendf(out, ",\"fan_in\":\"%s\"", sw_fan_in_name(t->fan_in));
        if (rc == 0 && t->fan_in == SW_FAN_IN_QUORUM)
            rc = sw_buf_appendf(out, ",\"quorum\":%d", t->quorum);
    }
    size_t n = t->links ? t->links->nchildren : 0;
    if (rc == 0 && (n || t->fan_in)) {
        rc = sw_buf_appendstr(out, ",\"children\":");
        rc = rc ? rc
                : render_ids(out, t->links ? t->links->children : NULL,
                             n < SW_TASK_RENDER_CHILDREN ? n : SW_TASK_RENDER_CHILDREN);
        rc = rc ? rc : sw_buf_appendf(out, ",\"children_count\":%zu", n);
    }
    return rc;
}

int sw_task_render(const struct sw_task *t, struct sw_buf *out)
{
    char id[SW_ID_STRLEN];
    sw_id_format('t', t->id, id);
    int rc = sw_buf_appendf(out, "{\"id\":\"%s\",\"capability\":", id);
    if (rc == 0 && (t->capability == NULL || t->capability[0] == '\0'))
        rc = sw_buf_appendstr(out, "null"); /* a parent of children needs none */
    else
        rc = rc ? rc : sw_json_append_string(out, t->capability);
    rc = rc ? rc
            : sw_buf_appendf(out,
                             ",\"state\":\"%s\",\"priority\":%lld,\"attempt\":%d,"
                             "\"max_attempts\":%d,\"dead\":%s,\"timeout_ms\":%lld,"
                             "\"backoff\":{\"initial_ms\":%lld,\"max_ms\":%lld,\"multiplier\":%g}",
                             sw_task_state_names[t->state], (long long)t->priority, t->attempt,
                             t->max_attempts, t->dead ? "true" : "false", (long long)t->timeout_ms,
                             (long long)t->backoff.initial_ms, (long long)t->backoff.max_ms,
                             t->backoff.multiplier);
    rc = rc ? rc : render_raw(out, "payload", t->payload ? t->payload : "null");
    rc = rc ? rc : render_raw(out, "labels", t->labels ? t->labels : "{}");
    rc = rc ? rc : render_opt_string(out, "idempotency_key", t->idempotency_key);
    rc = rc ? rc : render_opt_string(out, "swarm", t->swarm);
    rc = rc ? rc : render_raw(out, "route", t->route ? t->route : "null");
    rc = rc ? rc : render_raw(out, "selector", t->selector);
    if (rc == 0 && t->affinity)
        rc = render_opt_string(out, "affinity", t->affinity);
    if (rc == 0 && t->wait_for_provider)
        rc = sw_buf_appendstr(out, ",\"wait_for_provider\":true");
    rc = rc ? rc : render_id(out, "parent", 't', t->parent);
    rc = rc ? rc : render_graph(t, out);
    rc = rc ? rc : render_id(out, "agent", 'a', t->agent_id);
    rc = rc ? rc : render_time(out, "created_at", t->created_at);
    rc = rc ? rc : render_time(out, "updated_at", t->updated_at);
    if (t->state == SW_TASK_SCHEDULED)
        rc = rc ? rc : render_time(out, "run_at", t->run_at);
    rc = rc ? rc : render_time(out, "started_at", t->started_at);
    rc = rc ? rc : render_time(out, "finished_at", t->finished_at);
    if (t->state == SW_TASK_RUNNING) {
        rc = rc ? rc
                : sw_buf_appendf(out, ",\"lease_id\":\"%llu\"", (unsigned long long)t->lease_id);
        rc = rc ? rc : render_time(out, "lease_expires_at", t->lease_deadline);
    }
    rc = rc ? rc : render_raw(out, "result", t->result);
    rc = rc ? rc : render_raw(out, "error", t->error);
    rc = rc ? rc : render_raw(out, "progress", t->progress);
    return rc ? rc : sw_buf_append(out, "}", 1);
}
