/* SPDX-License-Identifier: MIT
 * fuzz_rpc_line.c - libFuzzer target for the lines a stdio agent writes on its stdout:
 * each input is split into lines and fed to the JSON-RPC handler of a managed agent
 * (answers to task.run calls, the agent's own task.submit, task.get, task.progress,
 * log and ping calls, garbage), with a real scheduler behind it. Nothing may crash or
 * leak. Built without libFuzzer (SW_FUZZ_STANDALONE), main() replays the corpus files
 * given as arguments: that is how CTest runs it. */
#include "api/runner_int.h"
#include "api/server.h"
#include "core/alloc.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sw_server server;
static struct sw_agent *agent;
static struct agent_rt rt;
static long inputs;

static void setup(void)
{
    memset(&server, 0, sizeof server);
    server.cfg.max_payload = 4096;
    server.cfg.sched = (struct sw_sched_config){30000, 5000, 3, 3, {1000, 60000, 2.0}, 100};
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

static void teardown(void)
{
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
    return 0;
}

#ifdef SW_FUZZ_STANDALONE
int main(int argc, char **argv)
{
    static unsigned char buf[1 << 20];
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    if (inputs)
        teardown();
    return 0;
}
#endif
