/* SPDX-License-Identifier: MIT
 * sqlite.c - the SQLite backend of the store: WAL mode, numbered migrations applied in
 * one transaction at open, two connections with one owner each: the writer thread
 * (commits; SQLite's automatic checkpoint keeps the WAL small and reused) and the
 * loop thread (reads of committed rows). SQL sits beside its bound parameters. */
#include "store.h"
#include "migrations.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

struct sqlite_store {
    struct sw_store base;
    sqlite3 *writer;
    sqlite3 *reader;
    sqlite3_stmt *task_insert, *task_update, *agent_put, *agent_delete;
    sqlite3_stmt *spec_put[2], *spec_delete[2]; /* [0] templates, [1] swarms */
    sqlite3_stmt *task_prune;
    sqlite3_stmt *begin, *commit; /* prepared once: no SQL parsing per commit */
    sqlite3_stmt *task_get, *task_by_key, *task_children;
    sqlite3_stmt *event_insert, *event_prune, *mem_put, *mem_delete, *mem_hist_put, *mem_hist_prune,
        *webhook_put, *webhook_delete;
    sqlite3_stmt *cost_add, *cost_seq, *swarm_scaled;
    char *path;
};

#define TASK_COLUMNS                                                                               \
    "id, capability, state, priority, payload, labels, idempotency_key, swarm, parent, "           \
    "attempt, max_attempts, dead, timeout_ms, backoff_initial_ms, backoff_max_ms, "                \
    "backoff_multiplier, created_at, updated_at, run_at, queued_at, started_at, finished_at, "     \
    "lease_id, agent_id, result, error, progress, after_ids, fan_in, quorum, route, "              \
    "wait_for_provider, selector, affinity"

static int sqlite_fail(sqlite3 *db, const char *what)
{
    sw_log_error("store", "msg=\"%s failed\" error=\"%s\"", what, sqlite3_errmsg(db));
    int code = sqlite3_errcode(db);
    return code == SQLITE_BUSY || code == SQLITE_LOCKED ? SW_ESTORE_BUSY : SW_ESTORE;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        sw_log_error("store", "msg=\"sql failed\" error=\"%s\"", err ? err : "?");
        sqlite3_free(err);
        return SW_ESTORE;
    }
    return 0;
}

static int open_connection(const char *path, int sync, int readonly, sqlite3 **out)
{
    static const char *const sync_pragmas[] = {
        "PRAGMA synchronous=FULL", "PRAGMA synchronous=NORMAL", "PRAGMA synchronous=OFF"};
    int flags = SQLITE_OPEN_NOMUTEX |
                (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        sw_log_error("store", "msg=\"cannot open database\" path=\"%s\" error=\"%s\"", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return SW_ESTORE;
    }
    sqlite3_busy_timeout(db, 5000);
    int rc = readonly ? 0 : exec_sql(db, "PRAGMA journal_mode=WAL");
    rc = rc ? rc : exec_sql(db, sync_pragmas[sync]);
    rc = rc ? rc
            : exec_sql(db, "PRAGMA wal_autocheckpoint=1000; PRAGMA cache_size=-16384;"
                           "PRAGMA temp_store=MEMORY; PRAGMA journal_size_limit=67108864");
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int migrate(sqlite3 *db)
{
    int rc = exec_sql(db, "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_migrations ("
                          "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER "
                          "NOT NULL)");
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    int current = 0, latest = 0;
    sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1, &st,
                       NULL);
    if (st && sqlite3_step(st) == SQLITE_ROW)
        current = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    for (const struct sw_migration *m = sw_migrations; rc == 0 && m->version; m++) {
        latest = m->version;
        if (m->version <= current)
            continue;
        rc = exec_sql(db, m->sql);
        char insert[256];
        snprintf(insert, sizeof insert, "INSERT INTO schema_migrations VALUES (%d, '%s', %lld)",
                 m->version, m->name, (long long)sw_clock_wall_ms());
        rc = rc ? rc : exec_sql(db, insert);
        if (rc == 0)
            sw_log_info("store", "msg=\"migration applied\" version=%d name=%s", m->version,
                        m->name);
    }
    if (rc == 0 && current > latest) {
        sw_log_error("store",
                     "msg=\"database schema is newer than this swarmd\" schema=%d "
                     "known=%d",
                     current, latest);
        rc = SW_ESTORE_SCHEMA;
    }
    if (rc) {
        exec_sql(db, "ROLLBACK");
        return rc;
    }
    return exec_sql(db, "COMMIT");
}

static int prepare_all(struct sqlite_store *s)
{
    struct {
        sqlite3 *db;
        sqlite3_stmt **st;
        const char *sql;
    } stmts[] = {
        {s->writer, &s->task_insert,
         "INSERT INTO tasks (" TASK_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
         "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, "
         "?28, "
         "?29, ?30, ?31, ?32, ?33, ?34)"},
        {s->writer, &s->task_update,
         "UPDATE tasks SET state = ?2, attempt = ?10, dead = ?12, updated_at = ?18, run_at = ?19, "
         "queued_at = ?20, started_at = ?21, finished_at = ?22, lease_id = ?23, agent_id = ?24, "
         "result = ?25, error = ?26, progress = ?27 WHERE id = ?1"},
        {s->writer, &s->agent_put,
         "INSERT INTO agents (id, name, kind, state, capabilities, slots, labels, swarm, "
         "token_hash, created_at, last_seen_at, completed, failed, template, stopped) VALUES "
         "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT (id) "
         "DO UPDATE SET state = ?4, capabilities = ?5, slots = ?6, labels = ?7, "
         "last_seen_at = ?11, completed = ?12, failed = ?13, template = ?14, stopped = ?15"},
        {s->writer, &s->spec_put[0],
         "INSERT INTO templates (name, spec, created_at, updated_at) VALUES (?1, ?2, ?4, ?4) "
         "ON CONFLICT (name) DO UPDATE SET spec = ?2, updated_at = ?4"},
        {s->writer, &s->spec_put[1],
         "INSERT INTO swarms (name, spec, stopped, created_at, updated_at) VALUES (?1, ?2, ?3, "
         "?4, ?4) ON CONFLICT (name) DO UPDATE SET spec = ?2, stopped = ?3, updated_at = ?4"},
        {s->writer, &s->spec_delete[0], "DELETE FROM templates WHERE name = ?1"},
        {s->writer, &s->spec_delete[1], "DELETE FROM swarms WHERE name = ?1"},
        /* ids grow with time: the rowid range finds old tasks without another index */
        {s->writer, &s->begin, "BEGIN IMMEDIATE"},
        {s->writer, &s->commit, "COMMIT"},
        {s->writer, &s->task_prune,
         "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE id < ?1 AND state IN (3, 4, 5) "
         "LIMIT 20000)"},
        {s->writer, &s->agent_delete, "DELETE FROM agents WHERE id = ?1"},
        {s->reader, &s->task_get, "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ?1"},
        {s->writer, &s->event_insert,
         "INSERT INTO events (seq, time, type, source, subject, body) VALUES (?1, ?2, ?3, ?4, "
         "?5, ?6)"},
        {s->writer, &s->event_prune,
         "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq < ?1 ORDER BY seq "
         "LIMIT 50000)"},
        {s->writer, &s->mem_put,
         "INSERT INTO memory (ns, key, value, version, revision, created_at, updated_at, "
         "expire_at, labels) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (ns, key) "
         "DO UPDATE SET value = ?3, version = ?4, revision = ?5, created_at = ?6, "
         "updated_at = ?7, expire_at = ?8, labels = ?9"},
        {s->writer, &s->mem_delete, "DELETE FROM memory WHERE ns = ?1 AND key = ?2"},
        {s->writer, &s->mem_hist_put,
         "INSERT OR REPLACE INTO memory_history (ns, key, revision, version, op, value, "
         "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        {s->writer, &s->mem_hist_prune,
         "DELETE FROM memory_history WHERE ns = ?1 AND key = ?2 AND revision <= (SELECT "
         "revision FROM memory_history WHERE ns = ?1 AND key = ?2 ORDER BY revision DESC "
         "LIMIT 1 OFFSET ?3)"},
        {s->writer, &s->webhook_put,
         "INSERT INTO webhooks (id, spec, state) VALUES (?1, coalesce(?2, ''), ?3) ON CONFLICT "
         "(id) DO UPDATE SET spec = coalesce(?2, spec), state = ?3"},
        {s->writer, &s->webhook_delete, "DELETE FROM webhooks WHERE id = ?1"},
        {s->reader, &s->task_by_key,
         "SELECT " TASK_COLUMNS " FROM tasks WHERE idempotency_key = ?1"},
        {s->reader, &s->task_children,
         "SELECT " TASK_COLUMNS " FROM tasks WHERE parent = ?1 AND parent > 0 AND id > ?2 "
         "ORDER BY parent, id LIMIT ?3"},
        {s->writer, &s->cost_add,
         "INSERT INTO costs (swarm, template, bucket, cost, agent_ms) VALUES (?1, ?2, ?3, ?4, "
         "?5) ON CONFLICT (swarm, template, bucket) DO UPDATE SET cost = cost + ?4, "
         "agent_ms = agent_ms + ?5"},
        {s->writer, &s->cost_seq, "UPDATE costs_seq SET seq = ?1 WHERE id = 1"},
        {s->writer, &s->swarm_scaled, "UPDATE swarms SET scaled = ?2 WHERE name = ?1"},
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        if (sqlite3_prepare_v3(stmts[i].db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
                               stmts[i].st, NULL) != SQLITE_OK)
            return sqlite_fail(stmts[i].db, "prepare");
    return 0;
}

static void sqlite_close(struct sw_store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    if (s == NULL)
        return;
    sqlite3_stmt *all[] = {
        s->task_insert,    s->task_update, s->agent_put,    s->agent_delete,   s->task_get,
        s->task_by_key,    s->spec_put[0], s->spec_put[1],  s->spec_delete[0], s->spec_delete[1],
        s->task_prune,     s->begin,       s->commit,       s->event_insert,   s->event_prune,
        s->mem_put,        s->mem_delete,  s->mem_hist_put, s->mem_hist_prune, s->webhook_put,
        s->webhook_delete, s->cost_add,    s->cost_seq,     s->swarm_scaled};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    sqlite3_finalize(s->task_children);
    sqlite3_close(s->reader);
    if (s->writer) {
        sqlite3_wal_checkpoint_v2(s->writer, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close(s->writer);
    }
    sw_free(s->path);
    sw_free(s);
}

static int sqlite_open(struct sw_store **out, const struct sw_store_options *o)
{
    struct sqlite_store *s = sw_calloc(1, sizeof *s);
    if (s == NULL)
        return SW_ENOMEM;
    s->base.ops = &sw_store_sqlite_ops;
    if ((s->path = sw_strdup(o->path)) == NULL) {
        sw_free(s);
        return SW_ENOMEM;
    }
    int rc = open_connection(o->path, o->sync, 0, &s->writer);
    rc = rc ? rc : migrate(s->writer);
    rc = rc ? rc : open_connection(o->path, o->sync, 1, &s->reader);
    rc = rc ? rc : prepare_all(s);
    if (rc) {
        sqlite_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* ---- rows <-> tasks ---- */

static int column_dup(sqlite3_stmt *st, int col, char **out)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    *out = NULL;
    if (text == NULL)
        return 0;
    *out = sw_strndup((const char *)text, (size_t)sqlite3_column_bytes(st, col));
    return *out ? 0 : SW_ENOMEM;
}

static int row_to_task(sqlite3_stmt *st, struct sw_task **out)
{
    struct sw_task *t = sw_task_new();
    if (t == NULL)
        return SW_ENOMEM;
    t->id = (uint64_t)sqlite3_column_int64(st, 0);
    int rc = column_dup(st, 1, &t->capability);
    t->state = (enum sw_task_state)sqlite3_column_int(st, 2);
    t->priority = sqlite3_column_int64(st, 3);
    rc = rc ? rc : column_dup(st, 4, &t->payload);
    rc = rc ? rc : column_dup(st, 5, &t->labels);
    rc = rc ? rc : column_dup(st, 6, &t->idempotency_key);
    rc = rc ? rc : column_dup(st, 7, &t->swarm);
    t->parent = (uint64_t)sqlite3_column_int64(st, 8);
    t->attempt = sqlite3_column_int(st, 9);
    t->max_attempts = sqlite3_column_int(st, 10);
    t->dead = sqlite3_column_int(st, 11);
    t->timeout_ms = sqlite3_column_int64(st, 12);
    t->backoff.initial_ms = sqlite3_column_int64(st, 13);
    t->backoff.max_ms = sqlite3_column_int64(st, 14);
    t->backoff.multiplier = sqlite3_column_double(st, 15);
    t->created_at = sqlite3_column_int64(st, 16);
    t->updated_at = sqlite3_column_int64(st, 17);
    t->run_at = sqlite3_column_int64(st, 18);
    t->queued_at = sqlite3_column_int64(st, 19);
    t->started_at = sqlite3_column_int64(st, 20);
    t->finished_at = sqlite3_column_int64(st, 21);
    t->lease_id = (uint64_t)sqlite3_column_int64(st, 22);
    t->agent_id = (uint64_t)sqlite3_column_int64(st, 23);
    rc = rc ? rc : column_dup(st, 24, &t->result);
    rc = rc ? rc : column_dup(st, 25, &t->error);
    rc = rc ? rc : column_dup(st, 26, &t->progress);
    const char *after = (const char *)sqlite3_column_text(st, 27);
    if (rc == 0 && after)
        rc = sw_task_after_parse(t, after) == SW_ENOMEM ? SW_ENOMEM : 0;
    t->fan_in = sqlite3_column_int(st, 28);
    t->quorum = sqlite3_column_int(st, 29);
    rc = rc ? rc : column_dup(st, 30, &t->route);
    t->wait_for_provider = sqlite3_column_int(st, 31);
    rc = rc ? rc : column_dup(st, 32, &t->selector);
    rc = rc ? rc : column_dup(st, 33, &t->affinity);
    if (rc == 0 && (t->state < 0 || t->state >= SW_TASK_NSTATES || t->capability == NULL))
        rc = SW_ESTORE;
    if (rc) {
        sw_task_free(t);
        return rc;
    }
    t->persisted = 1;
    *out = t;
    return 0;
}

static void bind_text(sqlite3_stmt *st, int col, const char *text)
{
    if (text)
        sqlite3_bind_text(st, col, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

static void bind_task(sqlite3_stmt *st, const struct sw_task *t, int insert)
{
    sqlite3_bind_int64(st, 1, (sqlite3_int64)t->id);
    sqlite3_bind_int(st, 3, t->state);
    sqlite3_bind_int(st, 10, t->attempt);
    sqlite3_bind_int(st, 12, t->dead);
    sqlite3_bind_int64(st, 18, t->updated_at);
    sqlite3_bind_int64(st, 19, t->run_at);
    sqlite3_bind_int64(st, 20, t->queued_at);
    sqlite3_bind_int64(st, 21, t->started_at);
    sqlite3_bind_int64(st, 22, t->finished_at);
    sqlite3_bind_int64(st, 23, (sqlite3_int64)t->lease_id);
    sqlite3_bind_int64(st, 24, (sqlite3_int64)t->agent_id);
    bind_text(st, 25, t->result);
    bind_text(st, 26, t->error);
    bind_text(st, 27, t->progress);
    if (!insert) {
        sqlite3_bind_int(st, 2, t->state); /* ?2 is state in the UPDATE */
        return;
    }
    bind_text(st, 2, t->capability);
    sqlite3_bind_int64(st, 4, t->priority);
    bind_text(st, 5, t->payload ? t->payload : "null");
    bind_text(st, 6, t->labels);
    bind_text(st, 7, t->idempotency_key);
    bind_text(st, 8, t->swarm);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)t->parent);
    sqlite3_bind_int(st, 11, t->max_attempts);
    sqlite3_bind_int64(st, 13, t->timeout_ms);
    sqlite3_bind_int64(st, 14, t->backoff.initial_ms);
    sqlite3_bind_int64(st, 15, t->backoff.max_ms);
    sqlite3_bind_double(st, 16, t->backoff.multiplier);
    sqlite3_bind_int64(st, 17, t->created_at);
    sqlite3_bind_int(st, 29, t->fan_in);
    sqlite3_bind_int(st, 30, t->quorum);
    bind_text(st, 31, t->route);
    sqlite3_bind_int(st, 32, t->wait_for_provider);
    bind_text(st, 33, t->selector);
    bind_text(st, 34, t->affinity);
    if (t->nafter == 0)
        return;
    struct sw_buf after;
    sw_buf_init(&after, (size_t)SW_TASK_MAX_AFTER * 24 + 8);
    if (sw_task_after_render(t, &after) == 0) /* else written NULL: the row still goes in */
        sqlite3_bind_text(st, 28, after.data, (int)after.len, SQLITE_TRANSIENT);
    sw_buf_free(&after);
}

static void bind_agent(sqlite3_stmt *st, const struct sw_agent *a, const char *caps)
{
    sqlite3_bind_int64(st, 1, (sqlite3_int64)a->id);
    bind_text(st, 2, a->name);
    sqlite3_bind_int(st, 3, a->kind);
    sqlite3_bind_int(st, 4, a->state);
    bind_text(st, 5, caps);
    sqlite3_bind_int(st, 6, a->slots);
    bind_text(st, 7, a->labels);
    bind_text(st, 8, a->swarm);
    sqlite3_bind_blob(st, 9, a->token_hash, sizeof a->token_hash, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, a->created_at);
    sqlite3_bind_int64(st, 11, a->last_seen_at);
    sqlite3_bind_int64(st, 12, (sqlite3_int64)a->total_completed);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)a->total_failed);
    bind_text(st, 14, a->template_name);
    sqlite3_bind_int(st, 15, a->stopped);
}

static int step_done(sqlite3 *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sqlite_fail(db, "write");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* A memory write: the row, its history entry, the history cut to `keep` versions. */
static int apply_memory(struct sqlite_store *s, const struct sw_store_op *op)
{
    const struct sw_mem_entry *e = op->mem;
    int del = op->kind == SW_STORE_MEMORY_DELETE;
    sqlite3_stmt *st = del ? s->mem_delete : s->mem_put;
    bind_text(st, 1, e->ns);
    bind_text(st, 2, e->key);
    if (!del) {
        sqlite3_bind_text(st, 3, e->value, (int)e->value_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, e->version);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)e->revision);
        sqlite3_bind_int64(st, 6, e->created_at);
        sqlite3_bind_int64(st, 7, e->updated_at);
        sqlite3_bind_int64(st, 8, e->expire_at);
        bind_text(st, 9, e->labels);
    }
    int rc = step_done(s->writer, st);
    if (rc || op->flag <= 0)
        return rc;
    st = s->mem_hist_put;
    bind_text(st, 1, e->ns);
    bind_text(st, 2, e->key);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)e->revision);
    sqlite3_bind_int64(st, 4, e->version);
    sqlite3_bind_int(st, 5, del ? (e->expire_at ? 2 : 1) : 0);
    if (!del)
        sqlite3_bind_text(st, 6, e->value, (int)e->value_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, e->updated_at);
    rc = step_done(s->writer, st);
    if (rc)
        return rc;
    st = s->mem_hist_prune;
    bind_text(st, 1, e->ns);
    bind_text(st, 2, e->key);
    sqlite3_bind_int(st, 3, op->flag);
    return step_done(s->writer, st);
}

static int apply_event(struct sqlite_store *s, const struct sw_event *ev)
{
    sqlite3_stmt *st = s->event_insert;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)ev->seq);
    sqlite3_bind_int64(st, 2, ev->time_ms);
    bind_text(st, 3, ev->type);
    bind_text(st, 4, ev->source);
    bind_text(st, 5, ev->subject);
    sqlite3_bind_text(st, 6, ev->json, (int)ev->len, SQLITE_STATIC);
    return step_done(s->writer, st);
}

/* Cost added to a bucket; the sequence of its batch tells readers which changes they saw. */
static int apply_cost(struct sqlite_store *s, const struct sw_store_op *op, uint64_t seq)
{
    sqlite3_stmt *st = s->cost_add;
    bind_text(st, 1, op->name);
    bind_text(st, 2, op->spec);
    sqlite3_bind_int64(st, 3, op->at);
    sqlite3_bind_double(st, 4, op->cost);
    sqlite3_bind_int64(st, 5, op->agent_ms);
    int rc = step_done(s->writer, st);
    if (rc)
        return rc;
    sqlite3_bind_int64(s->cost_seq, 1, (sqlite3_int64)seq);
    return step_done(s->writer, s->cost_seq);
}

static int apply_op(struct sqlite_store *s, const struct sw_store_op *op, uint64_t seq)
{
    sqlite3_stmt *st;
    switch (op->kind) {
    case SW_STORE_TASK_INSERT:
        st = s->task_insert;
        bind_task(st, op->task, 1);
        break;
    case SW_STORE_TASK_UPDATE:
        st = s->task_update;
        bind_task(st, op->task, 0);
        break;
    case SW_STORE_AGENT_PUT:
        st = s->agent_put;
        bind_agent(st, op->agent, op->capabilities);
        break;
    case SW_STORE_TASK_PRUNE:
        st = s->task_prune;
        sqlite3_bind_int64(st, 1, op->at);
        break;
    case SW_STORE_AGENT_DELETE:
        st = s->agent_delete;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)op->agent->id);
        break;
    case SW_STORE_TEMPLATE_PUT:
    case SW_STORE_SWARM_PUT:
        st = s->spec_put[op->kind == SW_STORE_SWARM_PUT];
        bind_text(st, 1, op->name);
        bind_text(st, 2, op->spec);
        sqlite3_bind_int(st, 3, op->flag);
        sqlite3_bind_int64(st, 4, op->at);
        break;
    case SW_STORE_EVENT_INSERT:
        return apply_event(s, op->event);
    case SW_STORE_EVENT_PRUNE:
        st = s->event_prune;
        sqlite3_bind_int64(st, 1, op->at);
        break;
    case SW_STORE_MEMORY_PUT:
    case SW_STORE_MEMORY_DELETE:
        return apply_memory(s, op);
    case SW_STORE_WEBHOOK_PUT:
        st = s->webhook_put;
        sqlite3_bind_int64(st, 1, op->at);
        bind_text(st, 2, op->name);
        bind_text(st, 3, op->spec);
        break;
    case SW_STORE_WEBHOOK_DELETE:
        st = s->webhook_delete;
        sqlite3_bind_int64(st, 1, op->at);
        break;
    case SW_STORE_COST_ADD:
        return apply_cost(s, op, seq);
    case SW_STORE_SWARM_SCALED:
        st = s->swarm_scaled;
        bind_text(st, 1, op->name);
        if (op->at >= 0)
            sqlite3_bind_int64(st, 2, op->at);
        else
            sqlite3_bind_null(st, 2);
        break;
    default:
        st = s->spec_delete[op->kind == SW_STORE_SWARM_DELETE];
        bind_text(st, 1, op->name);
        break;
    }
    return step_done(s->writer, st);
}

static int sqlite_commit(struct sw_store *base, const struct sw_store_batch *b)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    int rc = step_done(s->writer, s->begin);
    for (; rc == 0 && b; b = b->next)
        for (size_t i = 0; rc == 0 && i < b->len; i++)
            rc = apply_op(s, &b->ops[i], b->seq);
    if (rc == 0)
        rc = step_done(s->writer, s->commit);
    if (rc && !sqlite3_get_autocommit(s->writer))
        sqlite3_exec(s->writer, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- loading and reading ---- */

static int load_agent_row(sqlite3_stmt *st, struct sw_agent **out)
{
    struct sw_agent *a = sw_agent_new();
    if (a == NULL)
        return SW_ENOMEM;
    a->id = (uint64_t)sqlite3_column_int64(st, 0);
    int rc = column_dup(st, 1, &a->name);
    a->kind = (enum sw_agent_kind)sqlite3_column_int(st, 2);
    a->state = (enum sw_agent_state)sqlite3_column_int(st, 3);
    json_t *caps = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
    a->slots = sqlite3_column_int(st, 5);
    rc = rc ? rc : column_dup(st, 6, &a->labels);
    rc = rc ? rc : column_dup(st, 7, &a->swarm);
    if (sqlite3_column_bytes(st, 8) == (int)sizeof a->token_hash)
        memcpy(a->token_hash, sqlite3_column_blob(st, 8), sizeof a->token_hash);
    a->created_at = sqlite3_column_int64(st, 9);
    a->last_seen_at = sqlite3_column_int64(st, 10);
    a->total_completed = (uint64_t)sqlite3_column_int64(st, 11);
    a->total_failed = (uint64_t)sqlite3_column_int64(st, 12);
    rc = rc ? rc : column_dup(st, 13, &a->template_name);
    a->stopped = sqlite3_column_int(st, 14);
    size_t n = json_is_array(caps) ? json_array_size(caps) : 0;
    a->capabilities = sw_calloc(n ? n : 1, sizeof(char *));
    if (rc == 0 && a->capabilities == NULL)
        rc = SW_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *cap = json_string_value(json_array_get(caps, i));
        if (cap && (a->capabilities[a->ncapabilities++] = sw_strdup(cap)) == NULL)
            rc = SW_ENOMEM;
    }
    json_decref(caps);
    if (rc == 0 && (a->name == NULL || a->state >= SW_AGENT_NSTATES))
        rc = SW_ESTORE;
    if (rc) {
        sw_agent_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* Recovery reads rows on two threads, each over half of the id range with its own
 * connection, while the caller indexes them: SQLite's row decoding (the bulk of the
 * work) runs on both cores. Unfinished tasks are found by scanning the table in id
 * order from the oldest one (three index probes find it): a sequential read, and the
 * finished tasks before it are never touched. Rows travel in chunks. */
#define LOAD_CHUNK   4096
#define LOAD_READERS 2

struct load_chunk {
    struct load_chunk *next;
    size_t n;
    struct sw_task *tasks[LOAD_CHUNK];
};

struct load_pipe {
    const char *path;
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct load_chunk *head, *tail; /* guarded by lock */
    int finished, rc, stop;         /* guarded by lock */
};

struct load_reader {
    struct load_pipe *pipe;
    sqlite3 *db;
    int64_t first_id, end_id; /* [first, end) */
};

/* Queues c (may be NULL or empty); last = this reader is done with result rc. */
static int load_push(struct load_pipe *p, struct load_chunk *c, int last, int rc)
{
    pthread_mutex_lock(&p->lock);
    if (c && c->n) {
        if (p->tail)
            p->tail->next = c;
        else
            p->head = c;
        p->tail = c;
        c = NULL;
    }
    if (last)
        p->finished++;
    if (rc && p->rc == 0)
        p->rc = rc;
    int stop = p->stop;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
    sw_free(c);
    return stop ? SW_EINTERNAL : 0;
}

static void *load_reader_main(void *arg)
{
    struct load_reader *r = arg;
    sqlite3_stmt *st = NULL;
    struct load_chunk *c = NULL;
    int rc = sqlite3_prepare_v2(r->db,
                                "SELECT " TASK_COLUMNS " FROM tasks NOT INDEXED "
                                "WHERE id >= ?1 AND id < ?2 AND (state < 3 OR state = 6)",
                                -1, &st, NULL) == SQLITE_OK
                 ? 0
                 : sqlite_fail(r->db, "load");
    sqlite3_bind_int64(st, 1, r->first_id);
    sqlite3_bind_int64(st, 2, r->end_id);
    int step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (c == NULL && (c = sw_calloc(1, sizeof *c)) == NULL) {
            rc = SW_ENOMEM;
            break;
        }
        rc = row_to_task(st, &c->tasks[c->n]);
        if (rc == 0 && ++c->n == LOAD_CHUNK) {
            rc = load_push(r->pipe, c, 0, 0);
            c = NULL;
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sqlite_fail(r->db, "load");
    sqlite3_finalize(st);
    load_push(r->pipe, c, 1, rc);
    return NULL;
}

/* Takes the next chunk (NULL when every reader is done). */
static struct load_chunk *load_pop(struct load_pipe *p, int readers)
{
    pthread_mutex_lock(&p->lock);
    while (p->head == NULL && p->finished < readers)
        pthread_cond_wait(&p->ready, &p->lock);
    struct load_chunk *c = p->head;
    if (c) {
        p->head = c->next;
        if (p->head == NULL)
            p->tail = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    return c;
}

/* The id range [*first, *end) that holds every unfinished task. */
static int live_range(struct sqlite_store *s, int64_t *first, int64_t *end)
{
    sqlite3_stmt *st = NULL;
    *first = *end = 0;
    if (sqlite3_prepare_v2(
            s->reader,
            "SELECT (SELECT min(m) FROM (SELECT min(id) AS m FROM tasks WHERE "
            "state = 0 UNION ALL SELECT min(id) FROM tasks WHERE state = 1 UNION "
            "ALL SELECT min(id) FROM tasks WHERE state = 2 UNION ALL SELECT min(id) FROM tasks "
            "WHERE state = 6)), "
            "(SELECT max(id) FROM tasks)",
            -1, &st, NULL) != SQLITE_OK)
        return sqlite_fail(s->reader, "load");
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *first = sqlite3_column_int64(st, 0);
        *end = sqlite3_column_int64(st, 1) + 1;
    }
    sqlite3_finalize(st);
    return 0;
}

/* Hands every loaded task to l->task (which owns it from then on, even on error). */
static int load_drain(struct load_pipe *p, const struct sw_store_loader *l, int readers)
{
    int rc = 0;
    struct load_chunk *c;
    while ((c = load_pop(p, readers))) {
        for (size_t i = 0; i < c->n; i++) {
            if (rc == 0)
                rc = l->task(l->ctx, c->tasks[i]);
            else
                sw_task_free(c->tasks[i]);
        }
        sw_free(c);
        if (rc) {
            pthread_mutex_lock(&p->lock);
            p->stop = 1;
            pthread_mutex_unlock(&p->lock);
        }
    }
    return rc ? rc : p->rc;
}

static int load_tasks(struct sqlite_store *s, const struct sw_store_loader *l, const char *path)
{
    int64_t first, end;
    int rc = live_range(s, &first, &end);
    if (rc || first == end)
        return rc;
    struct load_pipe p = {.path = path};
    struct load_reader readers[LOAD_READERS] = {{&p, s->reader, first, end}};
    int n = 1;
    if (end - first > 1 && open_connection(path, 0, 1, &readers[1].db) == 0) {
        int64_t mid = first + (end - first) / 2;
        readers[0].end_id = mid;
        readers[1] = (struct load_reader){&p, readers[1].db, mid, end};
        n = 2;
    }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.ready, NULL);
    pthread_t threads[LOAD_READERS];
    int started = 0;
    for (; started < n; started++)
        if (pthread_create(&threads[started], NULL, load_reader_main, &readers[started]))
            break;
    if (started < n) {
        pthread_mutex_lock(&p.lock);
        p.rc = SW_EIO;
        p.finished += n - started;
        pthread_mutex_unlock(&p.lock);
    }
    rc = load_drain(&p, l, n);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (n > 1)
        sqlite3_close(readers[1].db);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.ready);
    return rc;
}

static int load_specs(struct sqlite_store *s, const struct sw_store_loader *l)
{
    static const char *const queries[2] = {"SELECT name, spec, 0 FROM templates ORDER BY name",
                                           "SELECT name, spec, stopped FROM swarms ORDER BY name"};
    int rc = 0;
    for (int i = 0; rc == 0 && i < 2; i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->reader, queries[i], -1, &st, NULL) != SQLITE_OK)
            return sqlite_fail(s->reader, "load");
        while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            const char *spec = (const char *)sqlite3_column_text(st, 1);
            if (name == NULL || spec == NULL)
                continue;
            if (i == 0 && l->template)
                rc = l->template(l->ctx, name, spec);
            else if (i == 1 && l->swarm)
                rc = l->swarm(l->ctx, name, spec, sqlite3_column_int(st, 2));
        }
        sqlite3_finalize(st);
    }
    return rc;
}

static int load_memory(struct sqlite_store *s, const struct sw_store_loader *l)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (l->memory == NULL)
        return 0;
    if (sqlite3_prepare_v2(s->reader,
                           "SELECT ns, key, value, labels, version, revision, created_at, "
                           "updated_at, expire_at FROM memory",
                           -1, &st, NULL) != SQLITE_OK)
        return sqlite_fail(s->reader, "load");
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *ns = (const char *)sqlite3_column_text(st, 0);
        const char *key = (const char *)sqlite3_column_text(st, 1);
        const char *value = (const char *)sqlite3_column_text(st, 2);
        if (ns == NULL || key == NULL || value == NULL)
            continue;
        struct sw_mem_entry *e =
            sw_mem_entry_new(ns, key, value, (size_t)sqlite3_column_bytes(st, 2),
                             (const char *)sqlite3_column_text(st, 3));
        if (e == NULL) {
            rc = SW_ENOMEM;
            break;
        }
        e->version = sqlite3_column_int64(st, 4);
        e->revision = (uint64_t)sqlite3_column_int64(st, 5);
        e->created_at = sqlite3_column_int64(st, 6);
        e->updated_at = sqlite3_column_int64(st, 7);
        e->expire_at = sqlite3_column_int64(st, 8);
        rc = l->memory(l->ctx, e);
    }
    sqlite3_finalize(st);
    if (rc || l->webhook == NULL)
        return rc;
    if (sqlite3_prepare_v2(s->reader, "SELECT id, spec, state FROM webhooks ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        return sqlite_fail(s->reader, "load");
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *spec = (const char *)sqlite3_column_text(st, 1);
        const char *state = (const char *)sqlite3_column_text(st, 2);
        if (spec && state)
            rc = l->webhook(l->ctx, (uint64_t)sqlite3_column_int64(st, 0), spec, state);
    }
    sqlite3_finalize(st);
    return rc;
}

static int sqlite_load(struct sw_store *base, const struct sw_store_loader *l,
                       uint64_t *max_task_id)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_stmt *st = NULL;
    int rc = 0, step;
    *max_task_id = 0;
    if (sqlite3_prepare_v2(s->reader, "SELECT coalesce(max(id), 0) FROM tasks", -1, &st, NULL))
        return sqlite_fail(s->reader, "load");
    if (sqlite3_step(st) == SQLITE_ROW)
        *max_task_id = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    rc = load_specs(s, l);
    rc = rc ? rc : load_memory(s, l);
    rc = rc ? rc : load_tasks(s, l, s->path);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(s->reader,
                           "SELECT id, name, kind, state, capabilities, slots, labels, swarm, "
                           "token_hash, created_at, last_seen_at, completed, failed, template, "
                           "stopped FROM agents ORDER BY id",
                           -1, &st, NULL))
        return sqlite_fail(s->reader, "load");
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct sw_agent *a;
        rc = load_agent_row(st, &a);
        rc = rc ? rc : l->agent(l->ctx, a);
    }
    sqlite3_finalize(st);
    return rc;
}

static int read_one(struct sqlite_store *s, sqlite3_stmt *st, struct sw_task **out)
{
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW    ? row_to_task(st, out)
             : step == SQLITE_DONE ? SW_ENOT_FOUND
                                   : sqlite_fail(s->reader, "read");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sqlite_task_get(struct sw_store *base, uint64_t id, struct sw_task **out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_bind_int64(s->task_get, 1, (sqlite3_int64)id);
    return read_one(s, s->task_get, out);
}

static int sqlite_task_by_key(struct sw_store *base, const char *key, struct sw_task **out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_bind_text(s->task_by_key, 1, key, -1, SQLITE_STATIC);
    return read_one(s, s->task_by_key, out);
}

/* Reads up to limit rows of st (bound, ready to step) as new tasks; the caller resets
 * or finalizes st. */
static int read_tasks(struct sqlite_store *s, sqlite3_stmt *st, size_t limit, const char *what,
                      struct sw_task ***out, size_t *n)
{
    struct sw_task **tasks = sw_calloc(limit + 1, sizeof *tasks);
    size_t count = 0;
    int rc = tasks ? 0 : SW_ENOMEM, step = SQLITE_DONE;
    while (rc == 0 && count < limit && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = row_to_task(st, &tasks[count++]);
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = sqlite_fail(s->reader, what);
    if (rc) {
        for (size_t i = 0; i < count; i++)
            sw_task_free(tasks[i]);
        sw_free(tasks);
        return rc;
    }
    *out = tasks;
    *n = count;
    return 0;
}

static int sqlite_task_children(struct sw_store *base, uint64_t parent, uint64_t after_id,
                                size_t limit, struct sw_task ***out, size_t *n)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_stmt *st = s->task_children;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)parent);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)after_id);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    int rc = read_tasks(s, st, limit, "children", out, n);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sqlite_task_list(struct sw_store *base, const struct sw_task_filter *f,
                            struct sw_task ***out, size_t *n)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT " TASK_COLUMNS " FROM tasks WHERE id > ?1%s%s%s ORDER BY id LIMIT ?5",
             f->state >= 0 ? " AND state = ?2" : "", f->dead >= 0 ? " AND dead = ?3" : "",
             f->capability ? " AND capability = ?4" : "");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->reader, sql, -1, &st, NULL) != SQLITE_OK)
        return sqlite_fail(s->reader, "list");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)f->after_id);
    if (f->state >= 0)
        sqlite3_bind_int(st, 2, f->state);
    if (f->dead >= 0)
        sqlite3_bind_int(st, 3, f->dead);
    if (f->capability)
        sqlite3_bind_text(st, 4, f->capability, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, f->limit);
    int rc = read_tasks(s, st, (size_t)f->limit, "list", out, n);
    sqlite3_finalize(st);
    return rc;
}

/* ---- events and memory history ---- */

static int sqlite_event_list(struct sw_store *base, const struct sw_event_query *q,
                             struct sw_event ***out, size_t *n)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    const struct sw_event_filter *f = q->filter;
    /* exact filters go to SQL; prefixes are checked here (ranges would need escaping) */
    int ft = f && f->type && !strchr(f->type, '*');
    int fs = f && f->source && !strchr(f->source, '*');
    int fj = f && f->subject && !strchr(f->subject, '*');
    char sql[320];
    snprintf(sql, sizeof sql,
             "SELECT seq, time, type, source, subject, body FROM events WHERE seq > ?1%s%s%s "
             "ORDER BY seq LIMIT ?5",
             ft ? " AND type = ?2" : "", fs ? " AND source = ?3" : "",
             fj ? " AND subject = ?4" : "");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->reader, sql, -1, &st, NULL) != SQLITE_OK)
        return sqlite_fail(s->reader, "events");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)q->after);
    if (ft)
        sqlite3_bind_text(st, 2, f->type, -1, SQLITE_STATIC);
    if (fs)
        sqlite3_bind_text(st, 3, f->source, -1, SQLITE_STATIC);
    if (fj)
        sqlite3_bind_text(st, 4, f->subject, -1, SQLITE_STATIC);
    /* prefix filters are applied after the read: read more rows than asked */
    size_t want = q->limit ? q->limit : 1;
    size_t scan = (f && (f->type || f->source || f->subject)) ? want * 8 + 256 : want;
    sqlite3_bind_int64(st, 5, (sqlite3_int64)scan);
    struct sw_event **evs = sw_calloc(want + 1, sizeof *evs);
    size_t count = 0;
    int rc = evs ? 0 : SW_ENOMEM, step = SQLITE_DONE;
    uint64_t last = q->after;
    while (rc == 0 && count < want && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *body = (const char *)sqlite3_column_text(st, 5);
        struct sw_event *ev = sw_event_load(
            (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
            (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
            (const char *)sqlite3_column_text(st, 4), body ? body : "{}",
            body ? (size_t)sqlite3_column_bytes(st, 5) : 2);
        if (ev == NULL) {
            rc = SW_ENOMEM;
            break;
        }
        last = ev->seq;
        if (f && !sw_event_filter_match(f, ev)) {
            sw_event_free(ev);
            continue;
        }
        evs[count++] = ev;
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = sqlite_fail(s->reader, "events");
    sqlite3_finalize(st);
    if (rc) {
        for (size_t i = 0; i < count; i++)
            sw_event_free(evs[i]);
        sw_free(evs);
        return rc;
    }
    /* the scan stopped at `last`: an empty result still moves the reader on, as a
     * placeholder past every filtered-out row (seq only, type NULL) */
    if (count == 0 && last > q->after) {
        struct sw_event *mark = sw_calloc(1, sizeof *mark);
        if (mark == NULL) {
            sw_free(evs);
            return SW_ENOMEM;
        }
        mark->seq = last;
        evs[count++] = mark;
    }
    *out = evs;
    *n = count;
    return 0;
}

static int sqlite_event_bounds(struct sw_store *base, uint64_t *first, uint64_t *last)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_stmt *st = NULL;
    *first = *last = 0;
    if (sqlite3_prepare_v2(s->reader,
                           "SELECT coalesce((SELECT seq FROM events ORDER BY seq LIMIT 1), 0), "
                           "coalesce((SELECT seq FROM events ORDER BY seq DESC LIMIT 1), 0)",
                           -1, &st, NULL) != SQLITE_OK)
        return sqlite_fail(s->reader, "events");
    if (sqlite3_step(st) == SQLITE_ROW) {
        *first = (uint64_t)sqlite3_column_int64(st, 0);
        *last = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return 0;
}

/* The first sequence whose time is at or after time_ms: times grow with sequences, so a
 * binary search on the primary key finds it without an index on time. */
static int sqlite_event_seq_at(struct sw_store *base, int64_t time_ms, uint64_t *seq)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    uint64_t lo, hi;
    int rc = sqlite_event_bounds(base, &lo, &hi);
    if (rc)
        return rc;
    *seq = 0;
    if (hi == 0)
        return 0;
    /* pruning removes a prefix: the sequences in [lo, hi] are contiguous */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->reader, "SELECT time FROM events WHERE seq = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return sqlite_fail(s->reader, "events");
    uint64_t end = hi + 1; /* the answer lies in [lo, end]; end: every event is older */
    while (lo < end) {
        uint64_t mid = lo + (end - lo) / 2;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)mid);
        int older = sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) < time_ms;
        sqlite3_reset(st);
        if (older)
            lo = mid + 1;
        else
            end = mid;
    }
    sqlite3_finalize(st);
    *seq = lo > hi ? UINT64_MAX : lo;
    return 0;
}

static int sqlite_memory_history(struct sw_store *base, const char *ns, const char *key,
                                 size_t limit, char **json)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    static const char *const ops[] = {"put", "delete", "expire"};
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->reader,
                           "SELECT version, revision, op, value, updated_at FROM memory_history "
                           "WHERE ns = ?1 AND key = ?2 ORDER BY revision DESC LIMIT ?3",
                           -1, &st, NULL) != SQLITE_OK)
        return sqlite_fail(s->reader, "history");
    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    struct sw_buf b;
    sw_buf_init(&b, (size_t)1 << 30);
    int rc = sw_buf_append(&b, "[", 1);
    for (int i = 0; rc == 0 && sqlite3_step(st) == SQLITE_ROW; i++) {
        int op = sqlite3_column_int(st, 2);
        rc = sw_buf_appendf(
            &b, "%s{\"version\":%lld,\"revision\":%lld,\"op\":\"%s\",\"value\":", i ? "," : "",
            (long long)sqlite3_column_int64(st, 0), (long long)sqlite3_column_int64(st, 1),
            ops[op >= 0 && op < 3 ? op : 0]);
        const char *v = (const char *)sqlite3_column_text(st, 3);
        rc = rc  ? rc
             : v ? sw_buf_append(&b, v, (size_t)sqlite3_column_bytes(st, 3))
                 : sw_buf_appendstr(&b, "null");
        rc = rc ? rc
                : sw_buf_appendf(&b, ",\"updated_at\":%lld}",
                                 (long long)sqlite3_column_int64(st, 4));
    }
    rc = rc ? rc : sw_buf_append(&b, "]", 1);
    sqlite3_finalize(st);
    if (rc) {
        sw_buf_free(&b);
        return rc;
    }
    *json = sw_buf_detach(&b, NULL);
    return 0;
}

/* ---- costs and autoscaled counts ---- */

static int sqlite_cost_totals(struct sw_store *base, int64_t since_ms,
                              int (*row)(void *ctx, const char *swarm, const char *template_name,
                                         double cost, int64_t agent_ms),
                              void *ctx, uint64_t *seq)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_stmt *st = NULL, *last = NULL;
    int rc = exec_sql(s->reader, "BEGIN"); /* one snapshot for the rows and their sequence */
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(s->reader,
                           "SELECT swarm, template, sum(cost), sum(agent_ms) FROM costs WHERE "
                           "bucket >= ?1 GROUP BY swarm, template ORDER BY swarm, template",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->reader, "SELECT seq FROM costs_seq WHERE id = 1", -1, &last, NULL) !=
            SQLITE_OK)
        rc = sqlite_fail(s->reader, "costs");
    if (rc == 0)
        sqlite3_bind_int64(st, 1, since_ms);
    int step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *swarm = (const char *)sqlite3_column_text(st, 0);
        const char *tmpl = (const char *)sqlite3_column_text(st, 1);
        if (swarm && tmpl)
            rc = row(ctx, swarm, tmpl, sqlite3_column_double(st, 2), sqlite3_column_int64(st, 3));
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sqlite_fail(s->reader, "costs");
    *seq = 0;
    if (rc == 0 && sqlite3_step(last) == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(last, 0);
    sqlite3_finalize(st);
    sqlite3_finalize(last);
    exec_sql(s->reader, "COMMIT");
    return rc;
}

static int sqlite_swarm_scaled(struct sw_store *base,
                               int (*row)(void *ctx, const char *swarm, int64_t replicas),
                               void *ctx)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_stmt *st = NULL;
    int rc = 0, step = SQLITE_DONE;
    if (sqlite3_prepare_v2(s->reader, "SELECT name, scaled FROM swarms WHERE scaled IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return sqlite_fail(s->reader, "scaled");
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name)
            rc = row(ctx, name, sqlite3_column_int64(st, 1));
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sqlite_fail(s->reader, "scaled");
    sqlite3_finalize(st);
    return rc;
}

const struct sw_store_ops sw_store_sqlite_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .load = sqlite_load,
    .commit = sqlite_commit,
    .task_get = sqlite_task_get,
    .task_by_key = sqlite_task_by_key,
    .task_list = sqlite_task_list,
    .task_children = sqlite_task_children,
    .event_list = sqlite_event_list,
    .event_bounds = sqlite_event_bounds,
    .event_seq_at = sqlite_event_seq_at,
    .memory_history = sqlite_memory_history,
    .cost_totals = sqlite_cost_totals,
    .swarm_scaled = sqlite_swarm_scaled,
};
