/* SPDX-License-Identifier: MIT
 * memory_api.c - shared memory operations and their HTTP routes. A write checks its
 * condition, changes the table, takes the next event sequence as its revision, and
 * appends its event and store op to the open batch; the answer waits for that commit
 * like every other one. Expired keys go at their time (a timer on the earliest
 * expiry) and before any read that could see them. */
#include "memory_api.h"
#include "events.h"
#include "json_in.h"
#include "routes.h"
#include "server.h"
#include "sse.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/log.h"
#include "model/fields.h"
#include "model/task.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 100
#define LIST_MAX     1000
#define TTL_MAX_MS   ((int64_t)10 * 365 * 24 * 3600 * 1000)
#define TXN_MAX_OPS  1000

void sw_mem_result_init(struct sw_mem_result *r)
{
    memset(r, 0, sizeof *r);
    sw_buf_init(&r->body, (size_t)1 << 31);
}

void sw_mem_result_free(struct sw_mem_result *r)
{
    sw_buf_free(&r->body);
}

__attribute__((format(printf, 4, 5))) static void fail(struct sw_mem_result *r, int rc,
                                                       const char *field, const char *fmt, ...)
{
    r->rc = rc;
    snprintf(r->field, sizeof r->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
}

static int names_valid(struct sw_server *s, const char *ns, const char *key, const char *where,
                       struct sw_mem_result *r)
{
    char field[160];
    if (!sw_mem_ns_valid(ns)) {
        snprintf(field, sizeof field, "%sns", where);
        fail(r, SW_EBAD_FIELD, field, "namespace '%.64s' must match [a-z0-9][a-z0-9._:-]{0,127}",
             ns);
        return 0;
    }
    if (key && !sw_mem_key_valid(key, s->cfg.memory_limits.max_key)) {
        snprintf(field, sizeof field, "%skey", where);
        if (strlen(key) > s->cfg.memory_limits.max_key)
            fail(r, SW_ELIMIT, field, "the key is longer than %zu bytes (the key length limit)",
                 s->cfg.memory_limits.max_key);
        else
            fail(r, SW_EBAD_FIELD, field,
                 "a key is text without control characters, not starting or ending with '/', "
                 "without empty segments");
        return 0;
    }
    return 1;
}

/* ---- rendering ---- */

static int render_entry(struct sw_buf *b, const struct sw_mem_entry *e)
{
    int rc = sw_buf_appendstr(b, "{\"ns\":");
    rc = rc ? rc : sw_json_append_string(b, e->ns);
    rc = rc ? rc : sw_buf_appendstr(b, ",\"key\":");
    rc = rc ? rc : sw_json_append_string(b, e->key);
    rc = rc ? rc : sw_buf_appendstr(b, ",\"value\":");
    rc = rc ? rc : sw_buf_append(b, e->value, e->value_len);
    rc = rc ? rc
            : sw_buf_appendf(b,
                             ",\"version\":%lld,\"revision\":%llu,\"created_at\":%lld,"
                             "\"updated_at\":%lld",
                             (long long)e->version, (unsigned long long)e->revision,
                             (long long)e->created_at, (long long)e->updated_at);
    if (e->expire_at)
        rc = rc ? rc : sw_buf_appendf(b, ",\"expire_at\":%lld", (long long)e->expire_at);
    if (e->labels)
        rc = rc ? rc : sw_buf_appendf(b, ",\"labels\":%s", e->labels);
    return rc ? rc : sw_buf_append(b, "}", 1);
}

/* The change as an event's data. */
static int render_change(struct sw_buf *b, const char *op, const char *ns, const char *key,
                         int64_t version, uint64_t revision, const struct sw_mem_entry *e,
                         int64_t now)
{
    int rc = sw_buf_appendf(b, "{\"op\":\"%s\",\"ns\":", op);
    rc = rc ? rc : sw_json_append_string(b, ns);
    rc = rc ? rc : sw_buf_appendstr(b, ",\"key\":");
    rc = rc ? rc : sw_json_append_string(b, key);
    rc = rc ? rc
            : sw_buf_appendf(b, ",\"version\":%lld,\"revision\":%llu,\"updated_at\":%lld",
                             (long long)version, (unsigned long long)revision, (long long)now);
    if (e) {
        rc = rc ? rc : sw_buf_appendstr(b, ",\"value\":");
        rc = rc ? rc : sw_buf_append(b, e->value, e->value_len);
        if (e->expire_at)
            rc = rc ? rc : sw_buf_appendf(b, ",\"expire_at\":%lld", (long long)e->expire_at);
        if (e->labels)
            rc = rc ? rc : sw_buf_appendf(b, ",\"labels\":%s", e->labels);
    }
    return rc ? rc : sw_buf_append(b, "}", 1);
}

static void source_of(const struct sw_agent *by, char out[40])
{
    if (by) {
        char id[SW_ID_STRLEN];
        sw_id_format('a', by->id, id);
        snprintf(out, 40, "/agents/%s", id);
    } else {
        snprintf(out, 40, "/clients");
    }
}

/* Appends the event of a change and its store op; the revision was taken before. */
static int announce(struct sw_server *s, const char *source, const char *op, const char *ns,
                    const char *key, int64_t version, uint64_t revision,
                    const struct sw_mem_entry *e, int expired)
{
    static const char *const types[] = {"swarmd.memory.written", "swarmd.memory.deleted",
                                        "swarmd.memory.expired"};
    int64_t now = sw_server_now(s);
    char subject[SW_MEM_NS_MAX + 4096];
    snprintf(subject, sizeof subject, "%s/%s", ns, key);
    struct sw_buf b;
    sw_buf_init(&b, (size_t)1 << 31);
    int kind = e ? 0 : expired ? 2 : 1;
    int rc = render_change(&b, op, ns, key, version, revision, e, now);
    uint64_t seq = rc ? 0 : sw_events_append(s, types[kind], source, subject, NULL, b.data, b.len);
    sw_buf_free(&b);
    if (seq == 0)
        return SW_ENOMEM;
    if (seq != revision)
        sw_log_error("memory", "msg=\"revision out of step\" revision=%llu event=%llu",
                     (unsigned long long)revision, (unsigned long long)seq);
    struct sw_store_batch *batch = sw_server_open_batch(s);
    int history = (int)s->cfg.memory_history;
    if (batch == NULL)
        return SW_ENOMEM;
    return e ? sw_store_batch_add_memory(batch, e, history)
             : sw_store_batch_add_memory_delete(batch, ns, key, revision, now, expired, history);
}

/* ---- expiry ---- */

static void arm_expiry(struct sw_server *s);

/* Removes every entry whose time has come, each with its event. */
static void expire_due(struct sw_server *s)
{
    int64_t now = sw_server_now(s);
    struct sw_mem_entry *e;
    while ((e = sw_memory_expired(&s->memory, now))) {
        e = sw_memory_remove(&s->memory, e->ns, e->key);
        uint64_t revision = sw_events_next_seq(s);
        if (announce(s, "/swarmd", "expire", e->ns, e->key, e->version, revision, NULL, 1))
            sw_log_error("memory", "msg=\"expiry not recorded: out of memory\" ns=%s", e->ns);
        sw_mem_entry_free(e);
    }
}

static void expiry_cb(uv_timer_t *timer)
{
    struct sw_server *s = timer->data;
    expire_due(s);
    arm_expiry(s);
}

static void arm_expiry(struct sw_server *s)
{
    int64_t at = sw_memory_next_expiry(&s->memory);
    if (at == 0) {
        uv_timer_stop(&s->memory_timer);
        return;
    }
    int64_t delay = at - sw_server_now(s);
    uv_timer_start(&s->memory_timer, expiry_cb, (uint64_t)(delay > 0 ? delay : 0), 0);
}

int sw_memory_api_start(struct sw_server *s)
{
    uv_timer_init(s->loop, &s->memory_timer);
    s->memory_timer.data = s;
    arm_expiry(s);
    return 0;
}

void sw_memory_api_stop(struct sw_server *s)
{
    if (s->memory_timer.loop && !uv_is_closing((uv_handle_t *)&s->memory_timer))
        uv_close((uv_handle_t *)&s->memory_timer, NULL);
}

/* ---- operations ---- */

static void conflict(struct sw_mem_result *r, const struct sw_mem_entry *cur, const char *field,
                     const char *what)
{
    fail(r, SW_ECONFLICT, field, "%s", what);
    if (cur)
        render_entry(&r->body, cur);
    else
        sw_buf_appendstr(&r->body, "null");
}

void sw_mem_op_get(struct sw_server *s, const char *ns, const char *key, struct sw_mem_result *r)
{
    if (!names_valid(s, ns, key, "", r))
        return;
    expire_due(s);
    struct sw_mem_entry *e = sw_memory_get(&s->memory, ns, key);
    if (e == NULL) {
        fail(r, SW_ENOT_FOUND, "key", "no key '%.200s' in namespace '%s'", key, ns);
        return;
    }
    r->rc = render_entry(&r->body, e);
    r->status = 200;
}

/* A write's parsed arguments. */
struct put_args {
    char *value;
    size_t value_len;
    char *labels;
    int64_t ttl_ms;
    int64_t expect; /* -1: none */
};

static int read_put(struct sw_server *s, json_t *args, const char *where, int need_value,
                    struct put_args *p, struct sw_mem_result *r)
{
    struct sw_field_error err;
    char field[160];
    memset(p, 0, sizeof p[0]);
    p->expect = -1;
    json_t *v = json_object_get(args, "value");
    if (need_value && v == NULL) {
        snprintf(field, sizeof field, "%svalue", where);
        fail(r, SW_EMISSING_FIELD, field, "value is required (any JSON value)");
        return -1;
    }
    int rc = sw_field_get_int(args, "ttl_ms", 1, TTL_MAX_MS, &p->ttl_ms, &err);
    rc = rc ? rc : sw_field_get_int(args, "expect_version", 0, INT64_MAX / 2, &p->expect, &err);
    rc = rc ? rc : sw_field_get_labels(args, "labels", &p->labels, &err);
    if (rc) {
        snprintf(field, sizeof field, "%s%s", where, err.field);
        fail(r, rc, field, "%s", err.message);
        return -1;
    }
    if (v) {
        p->value = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (p->value == NULL) {
            fail(r, SW_ENOMEM, NULL, "out of memory");
            return -1;
        }
        p->value_len = strlen(p->value);
        if (p->value_len > s->cfg.memory_limits.max_value) {
            snprintf(field, sizeof field, "%svalue", where);
            fail(r, SW_ETOO_LARGE, field,
                 "the value is %zu bytes, above the value size limit of %zu bytes", p->value_len,
                 s->cfg.memory_limits.max_value);
            return -1;
        }
    }
    return 0;
}

static void put_args_free(struct put_args *p)
{
    sw_free(p->value);
    sw_free(p->labels);
}

/* Writes one checked put; moves the value and labels. */
static int apply_put(struct sw_server *s, const char *source, const char *ns, const char *key,
                     struct put_args *p, struct sw_mem_entry **out, struct sw_mem_result *r,
                     const char *where)
{
    int64_t now = sw_server_now(s);
    uint64_t revision = sw_events_next_seq(s);
    int rc = sw_memory_put(&s->memory, &s->cfg.memory_limits, ns, key, p->value, p->value_len,
                           p->labels, p->ttl_ms ? now + p->ttl_ms : 0, revision, now, out);
    if (rc == SW_ELIMIT) {
        char field[160];
        snprintf(field, sizeof field, "%skey", where);
        fail(r, rc, field, "namespace '%s' holds %zu keys, the keys-per-namespace limit", ns,
             s->cfg.memory_limits.max_keys_per_ns);
        return rc;
    }
    if (rc) {
        fail(r, rc, NULL, "the write failed");
        return rc;
    }
    p->value = p->labels = NULL;
    rc = announce(s, source, "put", ns, key, (*out)->version, revision, *out, 0);
    if (rc)
        fail(r, rc, NULL, "out of memory");
    if ((*out)->expire_at)
        arm_expiry(s);
    return rc;
}

void sw_mem_op_put(struct sw_server *s, const struct sw_agent *by, const char *ns, const char *key,
                   json_t *args, int create_only, struct sw_mem_result *r)
{
    static const char *const allowed[] = {"value", "ttl_ms", "labels", "expect_version", NULL};
    struct sw_field_error err;
    struct put_args p;
    if (!names_valid(s, ns, key, "", r))
        return;
    if (sw_fields_only(args, allowed, "", &err)) {
        fail(r, SW_EUNKNOWN_FIELD, err.field, "%s", err.message);
        return;
    }
    if (read_put(s, args, "", 1, &p, r))
        goto out;
    expire_due(s);
    struct sw_mem_entry *cur = sw_memory_get(&s->memory, ns, key);
    if (create_only && cur) {
        conflict(r, cur, "If-None-Match", "the key exists (If-None-Match: *)");
        goto out;
    }
    if (p.expect >= 0 && sw_memory_check(&s->memory, ns, key, SW_MEM_VERSION, p.expect)) {
        char what[160];
        snprintf(what, sizeof what, "expected version %lld, the key is at %s%lld",
                 (long long)p.expect, cur ? "version " : "", cur ? (long long)cur->version : 0);
        if (!cur)
            snprintf(what, sizeof what, "expected version %lld, the key does not exist",
                     (long long)p.expect);
        conflict(r, cur, "expect_version", what);
        goto out;
    }
    char source[40];
    source_of(by, source);
    struct sw_mem_entry *e;
    int created = cur == NULL;
    if (apply_put(s, source, ns, key, &p, &e, r, ""))
        goto out;
    r->status = created ? 201 : 200;
    r->rc = render_entry(&r->body, e);
out:
    put_args_free(&p);
}

void sw_mem_op_delete(struct sw_server *s, const struct sw_agent *by, const char *ns,
                      const char *key, json_t *args, struct sw_mem_result *r)
{
    static const char *const allowed[] = {"expect_version", NULL};
    struct sw_field_error err;
    int64_t expect = -1;
    if (!names_valid(s, ns, key, "", r))
        return;
    if (args && (sw_fields_only(args, allowed, "", &err) ||
                 sw_field_get_int(args, "expect_version", 0, INT64_MAX / 2, &expect, &err))) {
        fail(r, SW_EBAD_FIELD, err.field, "%s", err.message);
        return;
    }
    expire_due(s);
    struct sw_mem_entry *cur = sw_memory_get(&s->memory, ns, key);
    if (cur == NULL && expect <= 0) {
        fail(r, SW_ENOT_FOUND, "key", "no key '%.200s' in namespace '%s'", key, ns);
        return;
    }
    if (expect >= 0 && sw_memory_check(&s->memory, ns, key, SW_MEM_VERSION, expect)) {
        conflict(r, cur, "expect_version", "the key is not at the expected version");
        return;
    }
    char source[40];
    source_of(by, source);
    uint64_t revision = sw_events_next_seq(s);
    struct sw_mem_entry *e = sw_memory_remove(&s->memory, ns, key);
    int64_t version = e->version;
    sw_mem_entry_free(e);
    if (announce(s, source, "delete", ns, key, version, revision, NULL, 0)) {
        fail(r, SW_ENOMEM, NULL, "out of memory");
        return;
    }
    r->status = 200;
    r->rc = sw_buf_appendstr(&r->body, "{\"ns\":");
    r->rc = r->rc ? r->rc : sw_json_append_string(&r->body, ns);
    r->rc = r->rc ? r->rc : sw_buf_appendstr(&r->body, ",\"key\":");
    r->rc = r->rc ? r->rc : sw_json_append_string(&r->body, key);
    r->rc = r->rc
                ? r->rc
                : sw_buf_appendf(&r->body, ",\"deleted\":true,\"version\":%lld,\"revision\":%llu}",
                                 (long long)version, (unsigned long long)revision);
}

void sw_mem_op_list(struct sw_server *s, const char *ns, const char *prefix, const char *cursor,
                    int64_t limit, struct sw_mem_result *r)
{
    if (!names_valid(s, ns, NULL, "", r))
        return;
    expire_due(s);
    struct sw_mem_entry **items = sw_malloc((size_t)(limit + 1) * sizeof *items);
    if (items == NULL) {
        fail(r, SW_ENOMEM, NULL, "out of memory");
        return;
    }
    int more;
    size_t n = sw_memory_list(&s->memory, ns, prefix, cursor, (size_t)limit, items, &more);
    struct sw_buf *b = &r->body;
    int rc = sw_buf_appendstr(b, "{\"ns\":");
    rc = rc ? rc : sw_json_append_string(b, ns);
    rc = rc ? rc : sw_buf_appendstr(b, ",\"items\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = i ? sw_buf_append(b, ",", 1) : 0;
        rc = rc ? rc : render_entry(b, items[i]);
    }
    rc = rc ? rc : sw_buf_appendstr(b, "],\"next_cursor\":");
    if (more && n)
        rc = rc ? rc : sw_json_append_string(b, items[n - 1]->key);
    else
        rc = rc ? rc : sw_buf_appendstr(b, "null");
    rc = rc ? rc : sw_buf_append(b, "}", 1);
    sw_free(items);
    r->rc = rc;
    r->status = 200;
}

/* ---- transactions ---- */

struct txn_op {
    int kind; /* 0 put, 1 delete, 2 check */
    const char *ns, *key;
    struct put_args p;
};

static int txn_read(struct sw_server *s, json_t *ops, struct txn_op *t, size_t n,
                    struct sw_mem_result *r)
{
    static const char *const allowed[] = {
        "op", "ns", "key", "value", "ttl_ms", "labels", "expect_version", NULL};
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(ops, i);
        char where[32], field[160];
        struct sw_field_error err;
        snprintf(where, sizeof where, "ops[%zu].", i);
        if (!json_is_object(o)) {
            snprintf(field, sizeof field, "ops[%zu]", i);
            fail(r, SW_EBAD_FIELD, field, "each op must be an object");
            return -1;
        }
        int kind = -1;
        int rc = sw_fields_only(o, allowed, where, &err);
        rc = rc ? rc : sw_field_get_enum(o, "op", "put|delete|check", &kind, &err);
        rc = rc ? rc : sw_field_get_string(o, "ns", 1, SW_MEM_NS_MAX, &t[i].ns, &err);
        rc = rc ? rc : sw_field_get_string(o, "key", 1, 65536, &t[i].key, &err);
        if (rc == 0 && kind < 0)
            rc = sw_field_fail(&err, SW_EMISSING_FIELD, "op", "op is put, delete or check");
        if (rc) {
            if (strncmp(err.field, where, strlen(where)) != 0) {
                snprintf(field, sizeof field, "%s%s", where, err.field);
                fail(r, rc, field, "%s", err.message);
            } else {
                fail(r, rc, err.field, "%s", err.message);
            }
            return -1;
        }
        t[i].kind = kind;
        if (!names_valid(s, t[i].ns, t[i].key, where, r) ||
            read_put(s, o, where, kind == 0, &t[i].p, r))
            return -1;
        if (kind != 0 && (t[i].p.value || t[i].p.ttl_ms || t[i].p.labels)) {
            snprintf(field, sizeof field, "%svalue", where);
            fail(r, SW_EBAD_FIELD, field, "only a put takes a value, ttl_ms or labels");
            return -1;
        }
        if (kind == 2 && t[i].p.expect < 0) {
            snprintf(field, sizeof field, "%sexpect_version", where);
            fail(r, SW_EMISSING_FIELD, field, "a check needs expect_version (0: absent)");
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (t[j].kind != 2 && kind != 2 && strcmp(t[j].ns, t[i].ns) == 0 &&
                strcmp(t[j].key, t[i].key) == 0) {
                snprintf(field, sizeof field, "ops[%zu].key", i);
                fail(r, SW_EBAD_FIELD, field, "the key is written twice in the transaction");
                return -1;
            }
    }
    return 0;
}

/* Every condition, against the state before the transaction. */
static int txn_check(struct sw_server *s, struct txn_op *t, size_t n, struct sw_mem_result *r)
{
    for (size_t i = 0; i < n; i++) {
        struct sw_mem_entry *cur = sw_memory_get(&s->memory, t[i].ns, t[i].key);
        char field[160];
        snprintf(field, sizeof field, "ops[%zu]", i);
        if (t[i].p.expect >= 0 &&
            sw_memory_check(&s->memory, t[i].ns, t[i].key, SW_MEM_VERSION, t[i].p.expect)) {
            char what[200];
            snprintf(what, sizeof what, "ops[%zu]: %s/%.100s is not at version %lld", i, t[i].ns,
                     t[i].key, (long long)t[i].p.expect);
            conflict(r, cur, field, what);
            return -1;
        }
        if (t[i].kind == 1 && cur == NULL && t[i].p.expect < 0) {
            fail(r, SW_ENOT_FOUND, field, "ops[%zu]: no key '%.100s' in '%s'", i, t[i].key,
                 t[i].ns);
            return -1;
        }
    }
    /* keys per namespace, counting the keys this transaction creates */
    size_t max = s->cfg.memory_limits.max_keys_per_ns;
    for (size_t i = 0; max && i < n; i++) {
        if (t[i].kind != 0 || sw_memory_get(&s->memory, t[i].ns, t[i].key))
            continue;
        size_t count = sw_memory_ns_count(&s->memory, t[i].ns);
        for (size_t j = 0; j <= i; j++)
            if (t[j].kind == 0 && strcmp(t[j].ns, t[i].ns) == 0 &&
                !sw_memory_get(&s->memory, t[j].ns, t[j].key))
                count++;
        if (count > max) {
            char field[160];
            snprintf(field, sizeof field, "ops[%zu].key", i);
            fail(r, SW_ELIMIT, field, "namespace '%s' would hold more than %zu keys", t[i].ns, max);
            return -1;
        }
    }
    return 0;
}

void sw_mem_op_txn(struct sw_server *s, const struct sw_agent *by, json_t *args,
                   struct sw_mem_result *r)
{
    static const char *const allowed[] = {"ops", NULL};
    struct sw_field_error err;
    if (sw_fields_only(args, allowed, "", &err)) {
        fail(r, SW_EUNKNOWN_FIELD, err.field, "%s", err.message);
        return;
    }
    json_t *ops = json_object_get(args, "ops");
    size_t n = json_is_array(ops) ? json_array_size(ops) : 0;
    if (n == 0 || n > TXN_MAX_OPS) {
        fail(r, ops ? SW_EBAD_FIELD : SW_EMISSING_FIELD, "ops",
             "ops must be an array of 1 to %d operations", TXN_MAX_OPS);
        return;
    }
    struct txn_op *t = sw_calloc(n, sizeof *t);
    if (t == NULL) {
        fail(r, SW_ENOMEM, NULL, "out of memory");
        return;
    }
    expire_due(s);
    if (txn_read(s, ops, t, n, r) || txn_check(s, t, n, r))
        goto out;
    /* all checked: apply every write (only running out of memory can fail now) */
    char source[40];
    source_of(by, source);
    struct sw_buf *b = &r->body;
    int rc = sw_buf_appendstr(b, "{\"results\":[");
    uint64_t last = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = i ? sw_buf_append(b, ",", 1) : 0;
        static const char *const names[] = {"put", "delete", "check"};
        rc = rc ? rc : sw_buf_appendf(b, "{\"op\":\"%s\",\"ns\":", names[t[i].kind]);
        rc = rc ? rc : sw_json_append_string(b, t[i].ns);
        rc = rc ? rc : sw_buf_appendstr(b, ",\"key\":");
        rc = rc ? rc : sw_json_append_string(b, t[i].key);
        if (rc == 0 && t[i].kind == 0) {
            struct sw_mem_entry *e;
            if (apply_put(s, source, t[i].ns, t[i].key, &t[i].p, &e, r, ""))
                goto out;
            last = e->revision;
            rc = sw_buf_appendf(b, ",\"version\":%lld,\"revision\":%llu", (long long)e->version,
                                (unsigned long long)e->revision);
        } else if (rc == 0 && t[i].kind == 1) {
            struct sw_mem_entry *e = sw_memory_remove(&s->memory, t[i].ns, t[i].key);
            if (e) {
                uint64_t revision = sw_events_next_seq(s);
                int64_t version = e->version;
                sw_mem_entry_free(e);
                rc = announce(s, source, "delete", t[i].ns, t[i].key, version, revision, NULL, 0);
                last = revision;
                rc =
                    rc ? rc : sw_buf_appendf(b, ",\"revision\":%llu", (unsigned long long)revision);
            }
        }
        rc = rc ? rc : sw_buf_append(b, "}", 1);
    }
    if (last == 0)
        last = sw_events_next_seq(s) - 1;
    rc = rc ? rc : sw_buf_appendf(b, "],\"revision\":%llu}", (unsigned long long)last);
    r->rc = rc;
    r->status = 200;
out:
    for (size_t i = 0; i < n; i++)
        put_args_free(&t[i].p);
    sw_free(t);
}

int sw_mem_watch_filter(const char *ns, const char *prefix, struct sw_event_filter *f)
{
    char subject[SW_MEM_NS_MAX + 4096];
    memset(f, 0, sizeof *f);
    snprintf(subject, sizeof subject, "%s/%s*", ns, prefix ? prefix : "");
    int rc = sw_event_filter_set(f, "type", "swarmd.memory.*");
    rc = rc ? rc : sw_event_filter_set(f, "subject", subject);
    if (rc)
        sw_event_filter_free(f);
    return rc;
}

/* ---- HTTP ---- */

static void reply_result(struct sw_request *req, struct sw_mem_result *r)
{
    if (r->rc == 0) {
        sw_reply(req, r->status ? r->status : 200, &r->body);
        return;
    }
    if (r->rc != SW_ECONFLICT || r->body.len == 0) {
        sw_reply_error(req, r->rc, r->field[0] ? r->field : NULL, "%s", r->message);
        return;
    }
    /* a conflict carries the current entry */
    struct sw_buf b;
    sw_buf_init(&b, (size_t)1 << 31);
    sw_buf_appendf(&b, "{\"error\":{\"code\":\"%s\",\"message\":", sw_strerror_code(r->rc));
    sw_json_append_string(&b, r->message);
    if (r->field[0]) {
        sw_buf_appendstr(&b, ",\"field\":");
        sw_json_append_string(&b, r->field);
    }
    sw_buf_appendstr(&b, "},\"current\":");
    sw_buf_append(&b, r->body.data, r->body.len);
    sw_buf_append(&b, "}", 1);
    sw_reply(req, 409, &b);
    sw_buf_free(&b);
}

/* If-Match: a version number (quotes allowed: an ETag); 0 or an answered error. */
static int if_match(struct sw_request *req, json_t *args)
{
    const char *h = sw_request_header(req, "If-Match");
    if (h == NULL)
        return 0;
    char text[32];
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '"' && h[n - 1] == '"' && n - 2 < sizeof text) {
        memcpy(text, h + 1, n - 2);
        text[n - 2] = '\0';
    } else {
        snprintf(text, sizeof text, "%s", h);
    }
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0 || n >= sizeof text) {
        sw_reply_error(req, SW_EBAD_FIELD, "If-Match",
                       "If-Match must be a key version (a non-negative integer; 0: the key must "
                       "not exist)");
        return SW_EBAD_FIELD;
    }
    json_object_set_new(args, "expect_version", json_integer(v));
    return 0;
}

void sw_api_memory_get(struct sw_request *req)
{
    static const char *const allowed[] = {"history", NULL};
    if (sw_query_only(req, allowed))
        return;
    struct sw_server *s = req->server;
    int64_t history = 0;
    if (sw_query_int(req, "history", 0, 1, &history))
        return;
    struct sw_mem_result r;
    sw_mem_result_init(&r);
    if (history) {
        char *json = NULL;
        if (!names_valid(s, req->params[0], req->params[1], "", &r)) {
            reply_result(req, &r);
        } else if ((r.rc = s->store->ops->memory_history(s->store, req->params[0], req->params[1],
                                                         (size_t)s->cfg.memory_history, &json))) {
            sw_reply_error(req, r.rc, NULL, "reading the history failed");
        } else {
            struct sw_buf *b = &r.body;
            sw_buf_appendstr(b, "{\"ns\":");
            sw_json_append_string(b, req->params[0]);
            sw_buf_appendstr(b, ",\"key\":");
            sw_json_append_string(b, req->params[1]);
            sw_buf_appendf(b, ",\"history\":%s}", json);
            sw_reply(req, 200, b);
        }
        sw_free(json);
    } else {
        sw_mem_op_get(s, req->params[0], req->params[1], &r);
        reply_result(req, &r);
    }
    sw_mem_result_free(&r);
}

void sw_api_memory_put(struct sw_request *req)
{
    json_t *body;
    if (sw_query_only(req, (const char *const[]){NULL}) || sw_body_object(req, &body))
        return;
    const char *none = sw_request_header(req, "If-None-Match");
    if (none && strcmp(none, "*") != 0) {
        sw_reply_error(req, SW_EBAD_FIELD, "If-None-Match",
                       "If-None-Match takes only * (create the key only if it does not exist)");
        json_decref(body);
        return;
    }
    if (if_match(req, body) == 0) {
        struct sw_mem_result r;
        sw_mem_result_init(&r);
        sw_mem_op_put(req->server, req->agent, req->params[0], req->params[1], body, none != NULL,
                      &r);
        reply_result(req, &r);
        sw_mem_result_free(&r);
    }
    json_decref(body);
}

void sw_api_memory_delete(struct sw_request *req)
{
    json_t *args = json_object();
    if (args == NULL || sw_query_only(req, (const char *const[]){NULL})) {
        if (args == NULL)
            sw_reply_error(req, SW_ENOMEM, NULL, "out of memory");
        json_decref(args);
        return;
    }
    if (if_match(req, args) == 0) {
        struct sw_mem_result r;
        sw_mem_result_init(&r);
        sw_mem_op_delete(req->server, req->agent, req->params[0], req->params[1], args, &r);
        reply_result(req, &r);
        sw_mem_result_free(&r);
    }
    json_decref(args);
}

void sw_api_memory_list(struct sw_request *req)
{
    static const char *const allowed[] = {"prefix", "limit",          "cursor",
                                          "watch",  "after_revision", NULL};
    struct sw_server *s = req->server;
    int64_t limit = LIST_DEFAULT, watch = 0;
    if (sw_query_only(req, allowed) || sw_query_int(req, "limit", 1, LIST_MAX, &limit) ||
        sw_query_int(req, "watch", 0, 1, &watch))
        return;
    const char *prefix = sw_request_query(req, "prefix");
    const char *ns = req->params[0];
    struct sw_mem_result r;
    sw_mem_result_init(&r);
    if (!names_valid(s, ns, NULL, "", &r)) {
        reply_result(req, &r);
    } else if (watch) {
        uint64_t after;
        const char *bad;
        struct sw_event_filter f;
        if (sw_sse_position(req, "after_revision", &after, &bad))
            sw_reply_error(req, SW_EBAD_QUERY, bad, "%s must be a revision", bad);
        else if (sw_mem_watch_filter(ns, prefix, &f))
            sw_reply_error(req, SW_EBAD_QUERY, "prefix", "prefix must be printable text");
        else
            sw_sse_start(req, SW_SSE_CHANGES, &f, after);
    } else {
        sw_mem_op_list(s, ns, prefix, sw_request_query(req, "cursor"), limit, &r);
        reply_result(req, &r);
    }
    sw_mem_result_free(&r);
}

void sw_api_memory_spaces(struct sw_request *req)
{
    struct sw_server *s = req->server;
    if (sw_query_only(req, (const char *const[]){NULL}))
        return;
    expire_due(s);
    struct sw_buf b;
    sw_buf_init(&b, (size_t)1 << 30);
    int rc = sw_buf_appendstr(&b, "{\"namespaces\":[");
    size_t pos = 0, i = 0;
    const char *name;
    void *v;
    while (rc == 0 && sw_strmap_next(&s->memory.spaces, &pos, &name, &v)) {
        const struct sw_mem_ns *n = v;
        rc = i++ ? sw_buf_append(&b, ",", 1) : 0;
        rc = rc ? rc : sw_buf_appendstr(&b, "{\"name\":");
        rc = rc ? rc : sw_json_append_string(&b, name);
        rc = rc ? rc : sw_buf_appendf(&b, ",\"keys\":%zu}", n->keys.count);
    }
    rc = rc ? rc
            : sw_buf_appendf(&b, "],\"keys\":%zu,\"bytes\":%zu}", s->memory.keys, s->memory.bytes);
    if (rc)
        sw_reply_error(req, rc, NULL, "out of memory");
    else
        sw_reply(req, 200, &b);
    sw_buf_free(&b);
}

void sw_api_memory_txn(struct sw_request *req)
{
    json_t *body;
    if (sw_query_only(req, (const char *const[]){NULL}) || sw_body_object(req, &body))
        return;
    struct sw_mem_result r;
    sw_mem_result_init(&r);
    sw_mem_op_txn(req->server, req->agent, body, &r);
    reply_result(req, &r);
    sw_mem_result_free(&r);
    json_decref(body);
}
