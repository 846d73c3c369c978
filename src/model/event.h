/* SPDX-License-Identifier: MIT
 * event.h - an event: an immutable record of something that happened, with a global
 * sequence number, kept as its CloudEvents 1.0 JSON text (rendered once, sent as is to
 * every stream, webhook and page). And event filters: type, source and subject, each
 * an exact value or a prefix ending in '*'. No I/O. */
#ifndef SW_EVENT_H
#define SW_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct sw_event {
    uint64_t seq;
    int64_t time_ms;
    char *type;    /* owned */
    char *source;  /* owned */
    char *subject; /* owned or NULL */
    char *json;    /* owned: the CloudEvent, compact, "data" last */
    size_t len;
    size_t data_off; /* json[data_off .. len-1) is the value of "data" */
};

/* Types, sources and subjects are short printable strings. */
#define SW_EVENT_FIELD_MAX 256

/* Renders a new event. data: JSON text (NULL = null). traceparent may be NULL.
 * NULL on allocation failure. */
struct sw_event *sw_event_new(uint64_t seq, int64_t time_ms, const char *type, const char *source,
                              const char *subject, const char *traceparent, const char *data,
                              size_t data_len);
/* Rebuilds an event from its stored columns and CloudEvent text (copied). */
struct sw_event *sw_event_load(uint64_t seq, int64_t time_ms, const char *type, const char *source,
                               const char *subject, const char *json, size_t len);
void sw_event_free(struct sw_event *ev);
/* Bytes an event holds, for the in-memory window's budget. */
size_t sw_event_size(const struct sw_event *ev);
/* 1 if t is a valid event type/source: 1..256 printable ASCII characters, no spaces. */
int sw_event_field_valid(const char *t);

/* A filter: each field NULL (any), an exact value, or a prefix ("swarmd.task.*"). */
struct sw_event_filter {
    char *type;
    char *source;
    char *subject;
};

/* Sets field ("type", "source", "subject") to value (copied; "" clears). SW_EUNKNOWN_FIELD
 * for another field name, SW_EBAD_FIELD for a bad value, SW_ENOMEM. */
int sw_event_filter_set(struct sw_event_filter *f, const char *field, const char *value);
/* Reads a JSON object {"type","source","subject"} (strings); unknown keys are refused with
 * *bad_key naming them. */
int sw_event_filter_from_json(struct sw_event_filter *f, json_t *obj, const char **bad_key);
int sw_event_filter_match(const struct sw_event_filter *f, const struct sw_event *ev);
/* One string: exact, or prefix when the pattern ends with '*'. */
int sw_event_pattern_match(const char *pattern, const char *value);
void sw_event_filter_free(struct sw_event_filter *f);
int sw_event_filter_copy(struct sw_event_filter *dst, const struct sw_event_filter *src);

#endif
