/* SPDX-License-Identifier: MIT
 * costs_api.c - GET /v1/costs (?swarm=NAME, ?since=1h or an RFC 3339 time): what the
 * managed agents cost, per swarm and template, each swarm's total rolled up its subtree
 * (a parent's total includes its children's), per template, and overall. The figures
 * are the store's (a snapshot of committed minute buckets) plus what it has not seen
 * yet (scaling.c), with every running agent brought up to now first. */
#include "json_in.h"
#include "routes.h"
#include "scaling.h"
#include "server.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/error.h"
#include "model/swarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COSTS_REPLY_MAX ((size_t)64 << 20)
#define COSTS_DEPTH_MAX 64 /* swarm trees are shallow; a deeper chain is cut here */

/* One (swarm, template) figure, or one template's across swarms. */
struct cost_entry {
    char *swarm, *tmpl; /* owned */
    double cost;
    int64_t agent_ms;
};

/* A swarm of the report: its own figures, its subtree's, its templates. */
struct cost_node {
    char *name;         /* owned */
    const char *parent; /* borrowed from the live swarm, NULL for a root or a gone swarm */
    double cost, total; /* own, and with its subtree */
    int64_t agent_ms, total_ms;
    struct cost_entry **tmpls; /* borrowed from the report's entries */
    size_t ntmpls, tmpls_cap;
    int shown; /* in the ?swarm= subtree */
};

struct cost_report {
    struct sw_server *server;
    struct sw_strmap entries; /* "swarm\ttemplate" -> struct cost_entry (key owned by a list) */
    struct sw_strmap nodes;   /* swarm -> struct cost_node */
    char **keys;
    size_t nkeys, keys_cap;
};

static void report_free(struct cost_report *r)
{
    size_t pos = 0;
    void *value;
    while (sw_strmap_next(&r->entries, &pos, NULL, &value)) {
        struct cost_entry *e = value;
        sw_free(e->swarm);
        sw_free(e->tmpl);
        sw_free(e);
    }
    for (pos = 0; sw_strmap_next(&r->nodes, &pos, NULL, &value);) {
        struct cost_node *n = value;
        sw_free(n->name);
        sw_free(n->tmpls);
        sw_free(n);
    }
    for (size_t i = 0; i < r->nkeys; i++)
        sw_free(r->keys[i]);
    sw_free(r->keys);
    sw_strmap_free(&r->entries);
    sw_strmap_free(&r->nodes);
}

static struct cost_node *node_get(struct cost_report *r, const char *swarm)
{
    struct cost_node *n = sw_strmap_get(&r->nodes, swarm);
    if (n)
        return n;
    if ((n = sw_calloc(1, sizeof *n)) == NULL || (n->name = sw_strdup(swarm)) == NULL) {
        sw_free(n);
        return NULL;
    }
    struct sw_swarm *sw = sw_strmap_get(&r->server->swarms, swarm);
    n->parent = sw ? sw->parent : NULL;
    if (sw_strmap_put(&r->nodes, n->name, n)) {
        sw_free(n->name);
        sw_free(n);
        return NULL;
    }
    return n;
}

static int node_add_template(struct cost_node *n, struct cost_entry *e)
{
    if (n->ntmpls == n->tmpls_cap) {
        size_t cap = n->tmpls_cap ? n->tmpls_cap * 2 : 4;
        struct cost_entry **grown = sw_realloc(n->tmpls, cap * sizeof *grown);
        if (grown == NULL)
            return SW_ENOMEM;
        n->tmpls = grown;
        n->tmpls_cap = cap;
    }
    n->tmpls[n->ntmpls++] = e;
    return 0;
}

/* Adds one row (from the store or not stored yet) to its (swarm, template) entry. */
static int add_row(void *ctx, const char *swarm, const char *tmpl, double cost, int64_t agent_ms)
{
    struct cost_report *r = ctx;
    char key[256];
    snprintf(key, sizeof key, "%s\t%s", swarm, tmpl);
    struct cost_entry *e = sw_strmap_get(&r->entries, key);
    if (e == NULL) {
        if (r->nkeys == r->keys_cap) {
            size_t cap = r->keys_cap ? r->keys_cap * 2 : 16;
            char **grown = sw_realloc(r->keys, cap * sizeof *grown);
            if (grown == NULL)
                return SW_ENOMEM;
            r->keys = grown;
            r->keys_cap = cap;
        }
        e = sw_calloc(1, sizeof *e);
        char *owned = sw_strdup(key);
        if (e == NULL || owned == NULL || (e->swarm = sw_strdup(swarm)) == NULL ||
            (e->tmpl = sw_strdup(tmpl)) == NULL || sw_strmap_put(&r->entries, owned, e)) {
            if (e)
                sw_free(e->swarm), sw_free(e->tmpl);
            sw_free(e);
            sw_free(owned);
            return SW_ENOMEM;
        }
        r->keys[r->nkeys++] = owned;
    }
    e->cost += cost;
    e->agent_ms += agent_ms;
    return 0;
}

/* Each swarm (every live one, and gone ones that cost something) with its own figures;
 * then each adds them to its ancestors' totals. */
static int build_tree(struct cost_report *r)
{
    size_t pos = 0;
    const char *name;
    void *value;
    while (sw_strmap_next(&r->server->swarms, &pos, &name, &value))
        if (node_get(r, name) == NULL)
            return SW_ENOMEM;
    for (pos = 0; sw_strmap_next(&r->entries, &pos, NULL, &value);) {
        struct cost_entry *e = value;
        struct cost_node *n = e->swarm[0] ? node_get(r, e->swarm) : NULL;
        if (e->swarm[0] && (n == NULL || node_add_template(n, e)))
            return SW_ENOMEM;
        if (n) {
            n->cost += e->cost;
            n->agent_ms += e->agent_ms;
        }
    }
    for (pos = 0; sw_strmap_next(&r->nodes, &pos, NULL, &value);) {
        struct cost_node *n = value, *up = n;
        for (int depth = 0; up && depth < COSTS_DEPTH_MAX; depth++) {
            up->total += n->cost;
            up->total_ms += n->agent_ms;
            up = up->parent ? sw_strmap_get(&r->nodes, up->parent) : NULL;
        }
    }
    return 0;
}

/* Marks the nodes of root's subtree (every node when root is NULL). */
static void mark_shown(struct cost_report *r, const char *root)
{
    size_t pos = 0;
    void *value;
    while (sw_strmap_next(&r->nodes, &pos, NULL, &value)) {
        struct cost_node *n = value, *up = n;
        for (int depth = 0; up && depth < COSTS_DEPTH_MAX && !n->shown; depth++) {
            n->shown = root == NULL || strcmp(up->name, root) == 0;
            up = up->parent ? sw_strmap_get(&r->nodes, up->parent) : NULL;
        }
    }
}

static int name_cmp(const void *x, const void *y)
{
    const struct cost_node *a = *(struct cost_node *const *)x, *b = *(struct cost_node *const *)y;
    return strcmp(a->name, b->name);
}

static int entry_cmp(const void *x, const void *y)
{
    const struct cost_entry *a = *(struct cost_entry *const *)x;
    const struct cost_entry *b = *(struct cost_entry *const *)y;
    return strcmp(a->tmpl, b->tmpl);
}

static int render_figures(struct sw_buf *b, double cost, int64_t agent_ms)
{
    return sw_buf_appendf(b, "\"cost\":%.9g,\"agent_seconds\":%.3f", cost,
                          (double)agent_ms / 1000.0);
}

static int render_node(struct sw_buf *b, const struct cost_node *n)
{
    int rc = sw_buf_appendstr(b, "{\"swarm\":");
    rc = rc ? rc : sw_json_append_string(b, n->name);
    rc = rc ? rc : sw_buf_appendstr(b, ",\"parent\":");
    rc = rc ? rc : (n->parent ? sw_json_append_string(b, n->parent) : sw_buf_appendstr(b, "null"));
    rc = rc ? rc : sw_buf_append(b, ",", 1);
    rc = rc ? rc : render_figures(b, n->cost, n->agent_ms);
    rc = rc ? rc : sw_buf_appendstr(b, ",\"total\":{");
    rc = rc ? rc : render_figures(b, n->total, n->total_ms);
    rc = rc ? rc : sw_buf_appendstr(b, "},\"templates\":[");
    for (size_t i = 0; rc == 0 && i < n->ntmpls; i++) {
        rc = sw_buf_appendstr(b, i ? ",{\"template\":" : "{\"template\":");
        rc = rc ? rc : sw_json_append_string(b, n->tmpls[i]->tmpl);
        rc = rc ? rc : sw_buf_append(b, ",", 1);
        rc = rc ? rc : render_figures(b, n->tmpls[i]->cost, n->tmpls[i]->agent_ms);
        rc = rc ? rc : sw_buf_append(b, "}", 1);
    }
    return rc ? rc : sw_buf_appendstr(b, "]}");
}

/* "swarms": the shown nodes by name; sums what they cost into *cost, *ms. */
static int render_swarms(struct sw_buf *b, struct cost_report *r, double *cost, int64_t *ms)
{
    struct cost_node **list = sw_calloc(r->nodes.count + 1, sizeof *list);
    size_t n = 0, pos = 0;
    void *value;
    if (list == NULL)
        return SW_ENOMEM;
    while (sw_strmap_next(&r->nodes, &pos, NULL, &value))
        if (((struct cost_node *)value)->shown)
            list[n++] = value;
    if (n > 1)
        qsort(list, n, sizeof *list, name_cmp);
    int rc = sw_buf_appendstr(b, ",\"swarms\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (list[i]->ntmpls > 1)
            qsort(list[i]->tmpls, list[i]->ntmpls, sizeof *list[i]->tmpls, entry_cmp);
        rc = i ? sw_buf_append(b, ",", 1) : 0;
        rc = rc ? rc : render_node(b, list[i]);
        *cost += list[i]->cost;
        *ms += list[i]->agent_ms;
    }
    sw_free(list);
    return rc ? rc : sw_buf_append(b, "]", 1);
}

/* "templates": each template's figures over the shown swarms (and, without a filter,
 * agents outside any swarm). */
static int render_templates(struct sw_buf *b, struct cost_report *r, int all)
{
    struct cost_entry **list = sw_calloc(r->entries.count + 1, sizeof *list);
    size_t n = 0, pos = 0;
    void *value;
    if (list == NULL)
        return SW_ENOMEM;
    while (sw_strmap_next(&r->entries, &pos, NULL, &value)) {
        struct cost_entry *e = value;
        struct cost_node *node = e->swarm[0] ? sw_strmap_get(&r->nodes, e->swarm) : NULL;
        if (node ? node->shown : all)
            list[n++] = e;
    }
    if (n > 1)
        qsort(list, n, sizeof *list, entry_cmp);
    int rc = sw_buf_appendstr(b, ",\"templates\":[");
    for (size_t i = 0; rc == 0 && i < n;) {
        double cost = 0;
        int64_t ms = 0;
        size_t j = i;
        for (; j < n && strcmp(list[j]->tmpl, list[i]->tmpl) == 0; j++)
            cost += list[j]->cost, ms += list[j]->agent_ms;
        rc = sw_buf_appendstr(b, i ? ",{\"template\":" : "{\"template\":");
        rc = rc ? rc : sw_json_append_string(b, list[i]->tmpl);
        rc = rc ? rc : sw_buf_append(b, ",", 1);
        rc = rc ? rc : render_figures(b, cost, ms);
        rc = rc ? rc : sw_buf_append(b, "}", 1);
        i = j;
    }
    sw_free(list);
    return rc ? rc : sw_buf_append(b, "]", 1);
}

/* since: a duration back from now ("90m") or an RFC 3339 time; absent: 0. */
static int parse_since(struct sw_request *req, int64_t now, int64_t *since)
{
    const char *v = sw_request_query(req, "since");
    int64_t ms;
    struct tm tm;
    int millis = 0, n = 0;
    *since = 0;
    if (v == NULL)
        return 0;
    memset(&tm, 0, sizeof tm);
    if (strchr(v, 'T') && (sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) == 6)) {
        const char *rest = v + n;
        if (*rest == '.' && sscanf(rest, ".%3d%n", &millis, &n) == 1)
            rest += n;
        if (strcmp(rest, "Z") == 0) {
            tm.tm_year -= 1900;
            tm.tm_mon -= 1;
            *since = (int64_t)timegm(&tm) * 1000 + millis;
            return 0;
        }
    } else if (strpbrk(v, "smhd") && sw_duration_parse(v, &ms) == 0 && ms <= now) {
        *since = now - ms;
        return 0;
    }
    sw_reply_error(req, SW_EBAD_QUERY, "since",
                   "since must be a duration back from now (\"1h\", \"30m\") or an RFC 3339 "
                   "time (\"2026-11-23T16:00:00Z\")");
    return SW_EBAD_QUERY;
}

void sw_api_costs(struct sw_request *req)
{
    static const char *const allowed[] = {"swarm", "since", NULL};
    struct sw_server *s = req->server;
    int64_t now = sw_server_now(s), since;
    const char *swarm = sw_request_query(req, "swarm");
    if (sw_query_only(req, allowed) || parse_since(req, now, &since))
        return;
    if (swarm && sw_strmap_get(&s->swarms, swarm) == NULL) {
        sw_reply_error(req, SW_ENOT_FOUND, "swarm", "no swarm %s", swarm);
        return;
    }
    struct cost_report r = {.server = s};
    uint64_t seq = 0;
    double cost = 0;
    int64_t ms = 0;
    sw_strmap_init(&r.entries);
    sw_strmap_init(&r.nodes);
    sw_scaling_accrue(s);
    int rc = s->store->ops->cost_totals(s->store, since, add_row, &r, &seq);
    rc = rc ? rc : sw_scaling_costs_unstored(s, seq, since, add_row, &r);
    rc = rc ? rc : build_tree(&r);
    if (rc == 0)
        mark_shown(&r, swarm);
    struct sw_buf b;
    char at[40];
    sw_buf_init(&b, COSTS_REPLY_MAX);
    sw_clock_format_rfc3339(since, at, sizeof at);
    if (rc == 0 && since)
        rc = sw_buf_appendf(&b, "{\"since\":\"%s\"", at);
    else if (rc == 0)
        rc = sw_buf_appendstr(&b, "{\"since\":null");
    sw_clock_format_rfc3339(now, at, sizeof at);
    rc = rc ? rc : sw_buf_appendf(&b, ",\"until\":\"%s\",\"swarm\":", at);
    rc = rc ? rc : (swarm ? sw_json_append_string(&b, swarm) : sw_buf_appendstr(&b, "null"));
    rc = rc ? rc : render_swarms(&b, &r, &cost, &ms);
    rc = rc ? rc : render_templates(&b, &r, swarm == NULL);
    if (rc == 0 && swarm == NULL) { /* agents outside any swarm count in the total */
        size_t pos = 0;
        void *value;
        while (sw_strmap_next(&r.entries, &pos, NULL, &value)) {
            struct cost_entry *e = value;
            if (e->swarm[0] == '\0')
                cost += e->cost, ms += e->agent_ms;
        }
    }
    rc = rc ? rc : sw_buf_appendstr(&b, ",\"total\":{");
    rc = rc ? rc : render_figures(&b, cost, ms);
    rc = rc ? rc : sw_buf_appendstr(&b, "}}");
    report_free(&r);
    if (rc) {
        sw_buf_free(&b);
        sw_reply_error(req, rc, NULL, "cannot report the costs: %s", sw_strerror(rc));
        return;
    }
    sw_reply(req, 200, &b);
}
