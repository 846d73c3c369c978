/* SPDX-License-Identifier: MIT
 * fuzz_rpc_line.c - libFuzzer target for the lines a stdio agent writes on its stdout:
 * each input is split into lines and fed to the JSON-RPC handler of a managed agent
 * (answers to task.run calls, the agent's own task.submit, task.get, task.progress,
 * log, ping, event.publish and memory.* calls, garbage), with a real scheduler, event
 * bus, memory table and store behind it (each input's changes are then taken as
 * committed). Nothing may crash or
 * leak. Built without libFuzzer (SW_FUZZ_STANDALONE), main() replays the corpus files
 * given as arguments: that is how CTest runs it. */
#include "api/events.h"
#include "api/memory_api.h"
#include "api/runner.h"
#include "api/runner_int.h"
#include "api/server.h"
#include "core/alloc.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sw_server server;
static struct sw_store *store; /* one for the whole run, in a scratch folder */
static char db_path[64];
static struct sw_agent *agent;
static struct agent_rt rt;
static long inputs;

static void setup(void)
{
    memset(&server, 0, sizeof server);
    server.cfg.max_payload = 4096;
    server.cfg.sched = (struct sw_sched_config){30000, 5000, 3, 3, {1000, 60000, 2.0}, 100};
    server.cfg.events_window = 256;
    server.cfg.memory_limits = (struct sw_mem_limits){256, 4096, 64};
    server.cfg.memory_history = 3;
    server.loop = uv_default_loop();
    server.open_seq = 1;
    if (store == NULL) {
        char dir[] = "/tmp/fuzz-rpc-XXXXXX";
        struct sw_store_options o = {db_path, SW_STORE_SYNC_OFF};
        if (mkdtemp(dir) == NULL)
            abort();
        snprintf(db_path, sizeof db_path, "%s/fuzz.db", dir);
        if (sw_store_sqlite_ops.open(&store, &o))
            abort();
    }
    server.store = store;
    sw_memory_init(&server.memory);
    if (sw_events_init(&server) || sw_memory_api_start(&server))
        abort();
    sw_sched_init(&server.sched, &server.cfg.sched, NULL, 42);
    agent = sw_agent_new();
    agent->name = sw_strdup("fuzz-agent");
    agent->kind = SW_AGENT_MANAGED;
    agent->slots = 4;
    agent->capabilities = sw_calloc(2, sizeof(char *));
    agent->capabilities[0] = sw_strdup("fuzz");
    agent->ncapabilities = 1;
    sw_sched_register_agent(&server.sched, agent, 1000);
    memset(&rt, 0, sizeof rt);
    rt.server = &server;
    rt.agent = agent;
    agent->runtime = &rt;
    /* a running task with a call in flight (rpc id 1), so answers find it */
    struct sw_task *t = sw_task_new();
    sw_task_set_str(&t->capability, "fuzz");
    sw_task_set_str(&t->payload, "{}");
    t->max_attempts = 3;
    t->backoff = server.cfg.sched.default_backoff;
    sw_sched_submit(&server.sched, t, 1000);
    struct sw_task *leased[1];
    int n = 0;
    sw_sched_lease(&server.sched, agent, 1, 1000, leased, &n);
    if (n == 1) {
        struct rpc_call *c = sw_calloc(1, sizeof *c);
        c->rpc_id = 1;
        c->task_id = leased[0]->id;
        c->lease_id = leased[0]->lease_id;
        rt.calls = c;
    }
}

/* What the commit pipeline does once a batch is on disk (here nothing is written). */
static void commit_all(void)
{
    sw_store_batch_free(server.spec_ops);
    server.spec_ops = NULL;
    server.has_dirty = 0;
    server.queued_seq = server.open_seq++;
    sw_events_batch_queued(&server, server.queued_seq);
    server.committed_seq = server.queued_seq;
    sw_events_committed_batch(&server, server.committed_seq);
    sw_runner_deliver_committed(&server);
}

static void teardown(void)
{
    commit_all();
    sw__shared_end(&rt);
    sw_events_stop_all(&server);
    sw_memory_api_stop(&server);
    uv_run(server.loop, UV_RUN_NOWAIT); /* the closed timer */
    sw_events_free(&server);
    sw_memory_free(&server.memory);
    while (rt.calls) {
        struct rpc_call *c = rt.calls;
        rt.calls = c->next;
        sw_free(c);
    }
    agent->runtime = NULL;
    sw_free(rt.wtasks);
    sw_sched_free(&server.sched); /* frees the agent and the tasks */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    sw_log_level = -1;
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (inputs++ % 1000 == 0) {
        if (inputs > 1)
            teardown();
        setup();
    }
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        sw__rpc_on_line(&rt, p, len, len > 8192);
        p += len + (nl != NULL);
    }
    commit_all();
    return 0;
}

#ifdef SW_FUZZ_STANDALONE
#include "replay.h"

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    if (fuzz_replay(argc, argv))
        return 1;
    if (inputs)
        teardown();
    store->ops->close(store);
    unlink(db_path);
    return 0;
}
#endif
