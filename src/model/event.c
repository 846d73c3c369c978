/* SPDX-License-Identifier: MIT
 * event.c - CloudEvents rendering and event filters. */
#include "event.h"
#include "task.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <string.h>
#include <time.h>

#define EVENT_MAX_BYTES ((size_t)64 << 20)

static void format_time(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static struct sw_event *event_alloc(uint64_t seq, int64_t time_ms, const char *type,
                                    const char *source, const char *subject)
{
    struct sw_event *ev = sw_calloc(1, sizeof *ev);
    if (ev == NULL)
        return NULL;
    ev->seq = seq;
    ev->time_ms = time_ms;
    ev->type = sw_strdup(type);
    ev->source = sw_strdup(source);
    ev->subject = subject ? sw_strdup(subject) : NULL;
    if (ev->type == NULL || ev->source == NULL || (subject && ev->subject == NULL)) {
        sw_event_free(ev);
        return NULL;
    }
    return ev;
}

struct sw_event *sw_event_new(uint64_t seq, int64_t time_ms, const char *type, const char *source,
                              const char *subject, const char *traceparent, const char *data,
                              size_t data_len)
{
    struct sw_event *ev = event_alloc(seq, time_ms, type, source, subject);
    if (ev == NULL)
        return NULL;
    char when[32];
    format_time(time_ms, when);
    struct sw_buf b;
    sw_buf_init(&b, EVENT_MAX_BYTES);
    int rc = sw_buf_appendf(
        &b, "{\"specversion\":\"1.0\",\"id\":\"%llu\",\"source\":", (unsigned long long)seq);
    rc = rc ? rc : sw_json_append_string(&b, source);
    rc = rc ? rc : sw_buf_appendstr(&b, ",\"type\":");
    rc = rc ? rc : sw_json_append_string(&b, type);
    if (subject) {
        rc = rc ? rc : sw_buf_appendstr(&b, ",\"subject\":");
        rc = rc ? rc : sw_json_append_string(&b, subject);
    }
    rc = rc ? rc
            : sw_buf_appendf(&b, ",\"time\":\"%s\",\"datacontenttype\":\"application/json\"", when);
    if (traceparent) {
        rc = rc ? rc : sw_buf_appendstr(&b, ",\"traceparent\":");
        rc = rc ? rc : sw_json_append_string(&b, traceparent);
    }
    rc = rc ? rc : sw_buf_appendstr(&b, ",\"data\":");
    size_t off = b.len;
    if (data && data_len)
        rc = rc ? rc : sw_buf_append(&b, data, data_len);
    else
        rc = rc ? rc : sw_buf_appendstr(&b, "null");
    rc = rc ? rc : sw_buf_append(&b, "}", 1);
    if (rc) {
        sw_buf_free(&b);
        sw_event_free(ev);
        return NULL;
    }
    ev->json = sw_buf_detach(&b, &ev->len);
    ev->data_off = off;
    return ev;
}

struct sw_event *sw_event_load(uint64_t seq, int64_t time_ms, const char *type, const char *source,
                               const char *subject, const char *json, size_t len)
{
    struct sw_event *ev = event_alloc(seq, time_ms, type, source, subject);
    if (ev == NULL)
        return NULL;
    ev->json = sw_malloc(len + 1);
    if (ev->json == NULL) {
        sw_event_free(ev);
        return NULL;
    }
    memcpy(ev->json, json, len);
    ev->json[len] = '\0';
    ev->len = len;
    /* every field before "data" is a string, in which a quote is escaped: the first
     * unescaped ,"data": is the one */
    const char *d = strstr(ev->json, ",\"data\":");
    ev->data_off = d ? (size_t)(d - ev->json) + 8 : len - 1;
    if (ev->data_off >= len)
        ev->data_off = len - 1;
    return ev;
}

void sw_event_free(struct sw_event *ev)
{
    if (ev == NULL)
        return;
    sw_free(ev->type);
    sw_free(ev->source);
    sw_free(ev->subject);
    sw_free(ev->json);
    sw_free(ev);
}

size_t sw_event_size(const struct sw_event *ev)
{
    return sizeof *ev + ev->len + strlen(ev->type) + strlen(ev->source) +
           (ev->subject ? strlen(ev->subject) : 0) + 64;
}

int sw_event_field_valid(const char *t)
{
    size_t n = 0;
    for (; t[n]; n++)
        if ((unsigned char)t[n] <= ' ' || (unsigned char)t[n] >= 0x7f)
            return 0;
    return n > 0 && n <= SW_EVENT_FIELD_MAX;
}

/* ---- filters ---- */

int sw_event_pattern_match(const char *pattern, const char *value)
{
    if (pattern == NULL)
        return 1;
    if (value == NULL)
        return 0;
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        return strncmp(pattern, value, n - 1) == 0;
    return strcmp(pattern, value) == 0;
}

int sw_event_filter_match(const struct sw_event_filter *f, const struct sw_event *ev)
{
    return sw_event_pattern_match(f->type, ev->type) &&
           sw_event_pattern_match(f->source, ev->source) &&
           sw_event_pattern_match(f->subject, ev->subject);
}

static int pattern_valid(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > SW_EVENT_FIELD_MAX * 2)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < ' ' || c == 0x7f || (c == '*' && i != n - 1))
            return 0;
    }
    return 1;
}

int sw_event_filter_set(struct sw_event_filter *f, const char *field, const char *value)
{
    char **slot = strcmp(field, "type") == 0      ? &f->type
                  : strcmp(field, "source") == 0  ? &f->source
                  : strcmp(field, "subject") == 0 ? &f->subject
                                                  : NULL;
    if (slot == NULL)
        return SW_EUNKNOWN_FIELD;
    if (value == NULL || *value == '\0' || strcmp(value, "*") == 0) {
        sw_free(*slot);
        *slot = NULL;
        return 0;
    }
    if (!pattern_valid(value))
        return SW_EBAD_FIELD;
    char *copy = sw_strdup(value);
    if (copy == NULL)
        return SW_ENOMEM;
    sw_free(*slot);
    *slot = copy;
    return 0;
}

int sw_event_filter_from_json(struct sw_event_filter *f, json_t *obj, const char **bad_key)
{
    *bad_key = NULL;
    if (obj == NULL || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return SW_EBAD_FIELD;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (!json_is_string(v)) {
            *bad_key = key;
            return strcmp(key, "type") && strcmp(key, "source") && strcmp(key, "subject")
                       ? SW_EUNKNOWN_FIELD
                       : SW_EBAD_FIELD;
        }
        int rc = sw_event_filter_set(f, key, json_string_value(v));
        if (rc) {
            *bad_key = key;
            return rc;
        }
    }
    return 0;
}

void sw_event_filter_free(struct sw_event_filter *f)
{
    sw_free(f->type);
    sw_free(f->source);
    sw_free(f->subject);
    f->type = f->source = f->subject = NULL;
}

int sw_event_filter_copy(struct sw_event_filter *dst, const struct sw_event_filter *src)
{
    memset(dst, 0, sizeof *dst);
    if ((src->type && (dst->type = sw_strdup(src->type)) == NULL) ||
        (src->source && (dst->source = sw_strdup(src->source)) == NULL) ||
        (src->subject && (dst->subject = sw_strdup(src->subject)) == NULL)) {
        sw_event_filter_free(dst);
        return SW_ENOMEM;
    }
    return 0;
}
