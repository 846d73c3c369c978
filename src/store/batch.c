/* SPDX-License-Identifier: MIT
 * batch.c - commit batches: snapshots of changed rows, built on the loop thread and
 * handed whole to the writer thread. */
#include "store.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <string.h>

struct sw_store_batch *sw_store_batch_new(uint64_t seq)
{
    struct sw_store_batch *b = sw_calloc(1, sizeof *b);
    if (b)
        b->seq = seq;
    return b;
}

static struct sw_store_op *batch_push(struct sw_store_batch *b)
{
    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct sw_store_op *ops = sw_realloc(b->ops, cap * sizeof *ops);
        if (ops == NULL)
            return NULL;
        b->ops = ops;
        b->cap = cap;
    }
    struct sw_store_op *op = &b->ops[b->len++];
    memset(op, 0, sizeof *op);
    return op;
}

static int dup_field(char **dst, const char *src)
{
    *dst = NULL;
    return src && (*dst = sw_strdup(src)) == NULL ? SW_ENOMEM : 0;
}

int sw_store_batch_add_task(struct sw_store_batch *b, const struct sw_task *t)
{
    struct sw_task *snap = sw_task_new();
    if (snap == NULL)
        return SW_ENOMEM;
    *snap = *t;
    snap->capability = snap->payload = snap->labels = snap->idempotency_key = NULL;
    snap->swarm = snap->route = snap->selector = snap->affinity = NULL;
    snap->result = snap->error = snap->progress = NULL;
    snap->after = NULL;
    snap->nafter = 0;
    snap->links = NULL; /* the scheduler's, not a column */
    snap->graph_next = NULL;
    int insert = !t->persisted;
    int rc = dup_field(&snap->result, t->result);
    rc = rc ? rc : dup_field(&snap->error, t->error);
    rc = rc ? rc : dup_field(&snap->progress, t->progress);
    if (insert) {
        rc = rc ? rc : dup_field(&snap->capability, t->capability);
        rc = rc ? rc : dup_field(&snap->payload, t->payload);
        rc = rc ? rc : dup_field(&snap->labels, t->labels);
        rc = rc ? rc : dup_field(&snap->idempotency_key, t->idempotency_key);
        rc = rc ? rc : dup_field(&snap->swarm, t->swarm);
        rc = rc ? rc : dup_field(&snap->route, t->route);
        rc = rc ? rc : dup_field(&snap->selector, t->selector);
        rc = rc ? rc : dup_field(&snap->affinity, t->affinity);
        if (rc == 0 && t->nafter) { /* after never changes: written with the row */
            snap->after = sw_malloc(t->nafter * sizeof *snap->after);
            rc = snap->after ? 0 : SW_ENOMEM;
            if (rc == 0) {
                memcpy(snap->after, t->after, t->nafter * sizeof *snap->after);
                snap->nafter = t->nafter;
            }
        }
    }
    struct sw_store_op *op = rc ? NULL : batch_push(b);
    if (op == NULL) {
        sw_task_free(snap);
        return SW_ENOMEM;
    }
    op->kind = insert ? SW_STORE_TASK_INSERT : SW_STORE_TASK_UPDATE;
    op->task = snap;
    return 0;
}

static char *capabilities_json(const struct sw_agent *a)
{
    struct sw_buf buf;
    sw_buf_init(&buf, 1 << 20);
    int rc = sw_buf_append(&buf, "[", 1);
    for (size_t i = 0; rc == 0 && i < a->ncapabilities; i++) {
        if (i)
            rc = sw_buf_append(&buf, ",", 1);
        rc = rc ? rc : sw_json_append_string(&buf, a->capabilities[i]);
    }
    rc = rc ? rc : sw_buf_append(&buf, "]", 1);
    if (rc) {
        sw_buf_free(&buf);
        return NULL;
    }
    return sw_buf_detach(&buf, NULL);
}

int sw_store_batch_add_agent(struct sw_store_batch *b, const struct sw_agent *a)
{
    struct sw_agent *snap = sw_agent_new();
    char *caps = a->removed ? NULL : capabilities_json(a);
    struct sw_store_op *op = NULL;
    if (snap == NULL || (!a->removed && caps == NULL))
        goto fail;
    snap->id = a->id;
    snap->kind = a->kind;
    snap->state = a->state;
    snap->slots = a->slots;
    snap->created_at = a->created_at;
    snap->last_seen_at = a->last_seen_at;
    snap->total_completed = a->total_completed;
    snap->total_failed = a->total_failed;
    snap->stopped = a->stopped;
    memcpy(snap->token_hash, a->token_hash, sizeof snap->token_hash);
    if (dup_field(&snap->name, a->name) || dup_field(&snap->labels, a->labels) ||
        dup_field(&snap->swarm, a->swarm) || dup_field(&snap->template_name, a->template_name))
        goto fail;
    op = batch_push(b);
    if (op == NULL)
        goto fail;
    op->kind = a->removed ? SW_STORE_AGENT_DELETE : SW_STORE_AGENT_PUT;
    op->agent = snap;
    op->capabilities = caps;
    return 0;
fail:
    sw_agent_free(snap);
    sw_free(caps);
    return SW_ENOMEM;
}

int sw_store_batch_add_prune(struct sw_store_batch *b, uint64_t before_id)
{
    struct sw_store_op *op = batch_push(b);
    if (op == NULL)
        return SW_ENOMEM;
    op->kind = SW_STORE_TASK_PRUNE;
    op->at = (int64_t)before_id;
    return 0;
}

int sw_store_batch_add_spec(struct sw_store_batch *b, int is_swarm, const char *name,
                            const char *spec, int stopped, int64_t now)
{
    struct sw_store_op *op = batch_push(b);
    if (op == NULL)
        return SW_ENOMEM;
    op->kind = spec ? (is_swarm ? SW_STORE_SWARM_PUT : SW_STORE_TEMPLATE_PUT)
                    : (is_swarm ? SW_STORE_SWARM_DELETE : SW_STORE_TEMPLATE_DELETE);
    op->flag = stopped;
    op->at = now;
    if (dup_field(&op->name, name) || dup_field(&op->spec, spec)) {
        b->len--;
        sw_free(op->name);
        sw_free(op->spec);
        return SW_ENOMEM;
    }
    return 0;
}

int sw_store_batch_add_event(struct sw_store_batch *b, const struct sw_event *ev)
{
    struct sw_store_op *op = batch_push(b);
    if (op == NULL)
        return SW_ENOMEM;
    op->kind = SW_STORE_EVENT_INSERT;
    op->event = ev;
    return 0;
}

int sw_store_batch_add_event_prune(struct sw_store_batch *b, uint64_t before_seq)
{
    struct sw_store_op *op = batch_push(b);
    if (op == NULL)
        return SW_ENOMEM;
    op->kind = SW_STORE_EVENT_PRUNE;
    op->at = (int64_t)before_seq;
    return 0;
}

static struct sw_mem_entry *mem_snapshot(const char *ns, const char *key, const char *value,
                                         size_t value_len, const char *labels)
{
    return sw_mem_entry_new(ns, key, value, value_len, labels);
}

int sw_store_batch_add_memory(struct sw_store_batch *b, const struct sw_mem_entry *e, int history)
{
    struct sw_mem_entry *snap = mem_snapshot(e->ns, e->key, e->value, e->value_len, e->labels);
    struct sw_store_op *op = snap ? batch_push(b) : NULL;
    if (op == NULL) {
        sw_mem_entry_free(snap);
        return SW_ENOMEM;
    }
    snap->version = e->version;
    snap->revision = e->revision;
    snap->created_at = e->created_at;
    snap->updated_at = e->updated_at;
    snap->expire_at = e->expire_at;
    op->kind = SW_STORE_MEMORY_PUT;
    op->mem = snap;
    op->flag = history;
    return 0;
}

int sw_store_batch_add_memory_delete(struct sw_store_batch *b, const char *ns, const char *key,
                                     uint64_t revision, int64_t now, int expired, int history)
{
    struct sw_mem_entry *snap = mem_snapshot(ns, key, NULL, 0, NULL);
    struct sw_store_op *op = snap ? batch_push(b) : NULL;
    if (op == NULL) {
        sw_mem_entry_free(snap);
        return SW_ENOMEM;
    }
    snap->revision = revision;
    snap->updated_at = now;
    snap->expire_at = expired; /* a flag here */
    op->kind = SW_STORE_MEMORY_DELETE;
    op->mem = snap;
    op->flag = history;
    return 0;
}

int sw_store_batch_add_webhook(struct sw_store_batch *b, uint64_t id, const char *spec,
                               const char *state)
{
    struct sw_store_op *op = batch_push(b);
    if (op == NULL)
        return SW_ENOMEM;
    op->kind = state ? SW_STORE_WEBHOOK_PUT : SW_STORE_WEBHOOK_DELETE;
    op->at = (int64_t)id;
    if (dup_field(&op->name, state ? spec : NULL) || dup_field(&op->spec, state)) {
        b->len--;
        sw_free(op->name);
        sw_free(op->spec);
        return SW_ENOMEM;
    }
    return 0;
}

int sw_store_batch_add_cost(struct sw_store_batch *b, const char *swarm, const char *template_name,
                            int64_t bucket_ms, double cost, int64_t agent_ms)
{
    struct sw_store_op *op = batch_push(b);
    if (op == NULL)
        return SW_ENOMEM;
    op->kind = SW_STORE_COST_ADD;
    op->at = bucket_ms;
    op->cost = cost;
    op->agent_ms = agent_ms;
    if (dup_field(&op->name, swarm ? swarm : "") || dup_field(&op->spec, template_name)) {
        b->len--;
        sw_free(op->name);
        sw_free(op->spec);
        return SW_ENOMEM;
    }
    return 0;
}

int sw_store_batch_add_scaled(struct sw_store_batch *b, const char *swarm, int64_t replicas)
{
    struct sw_store_op *op = batch_push(b);
    if (op == NULL)
        return SW_ENOMEM;
    op->kind = SW_STORE_SWARM_SCALED;
    op->at = replicas;
    if (dup_field(&op->name, swarm)) {
        b->len--;
        return SW_ENOMEM;
    }
    return 0;
}

void sw_store_batch_free(struct sw_store_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->len; i++) {
        struct sw_store_op *op = &b->ops[i];
        sw_task_free(op->task);
        sw_agent_free(op->agent);
        sw_free(op->capabilities);
        sw_free(op->name);
        sw_free(op->spec);
        sw_mem_entry_free(op->mem);
    }
    sw_free(b->ops);
    sw_free(b);
}
