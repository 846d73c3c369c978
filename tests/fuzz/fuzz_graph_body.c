/* SPDX-License-Identifier: MIT
 * fuzz_graph_body.c - libFuzzer target for the bodies of task graphs: the first byte
 * picks POST /v1/tasks (bodies with after, children, fan_in, parent) or POST
 * /v1/tasks:batch, the rest is the body, handed to the real handler with a real
 * scheduler and SQLite store; then, when the second byte is odd, the oldest task still
 * in memory is cancelled, so that cascades run over what the input built. Every request
 * must be answered with a status and a body that parses as JSON, and the scheduler's
 * graph worklist must be empty afterwards. Built without libFuzzer (SW_FUZZ_STANDALONE),
 * main() replays the corpus files given as arguments: that is how CTest runs it. */
#include "api/routes.h"
#include "api/server.h"
#include "core/alloc.h"
#include "core/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sw_server server;
static char home[64];
static long inputs;

static void server_reset(void)
{
    if (inputs++ % 2000 != 0)
        return;
    sw_sched_free(&server.sched);
    sw_sched_init(&server.sched, &server.cfg.sched, NULL, 42);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sw_log_level = -1;
    snprintf(home, sizeof home, "/tmp/swarmd-fuzz.XXXXXX");
    if (mkdtemp(home) == NULL)
        abort();
    static char db[128];
    snprintf(db, sizeof db, "%s/swarmd.db", home);
    memset(&server, 0, sizeof server);
    server.cfg.max_payload = 4096;
    server.cfg.sched = (struct sw_sched_config){30000, 5000, 3, 3, {1000, 60000, 2.0}, 100};
    struct sw_store_options so = {db, SW_STORE_SYNC_OFF};
    if (sw_store_sqlite_ops.open(&server.store, &so))
        abort();
    server.ready = 1;
    sw_sched_init(&server.sched, &server.cfg.sched, NULL, 42);
    return 0;
}

/* The oldest unfinished task in memory, or NULL. */
static struct sw_task *oldest_live(void)
{
    struct sw_task *best = NULL;
    size_t pos = 0;
    void *value;
    while (sw_map_next(&server.sched.tasks, &pos, NULL, &value)) {
        struct sw_task *t = value;
        if (!sw_task_state_terminal(t->state) && (best == NULL || t->id < best->id))
            best = t;
    }
    return best;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 2)
        return 0;
    server_reset();
    struct sw_request req;
    memset(&req, 0, sizeof req);
    req.server = &server;
    req.method = "POST";
    req.path = "/fuzz";
    req.is_admin = 1;
    sw_buf_init(&req.body, 1 << 20);
    sw_buf_init(&req.response, 1);
    sw_buf_append(&req.body, data + 1, size - 1);
    if (data[0] % 2)
        sw_api_task_batch(&req);
    else
        sw_api_task_submit(&req);
    if (!req.has_response || req.status < 200 || req.status > 599)
        abort();
    json_t *reply = json_loadb(req.response.data, req.response.len, 0, NULL);
    if (reply == NULL) {
        fprintf(stderr, "reply is not JSON: %.*s\n", (int)req.response.len, req.response.data);
        abort();
    }
    json_decref(reply);
    struct sw_task *t = data[1] % 2 ? oldest_live() : NULL;
    if (t)
        sw_sched_cancel(&server.sched, t, sw_server_now(&server));
    if (server.sched.graph.head != NULL)
        abort();
    sw_buf_free(&req.body);
    sw_buf_free(&req.response);
    return 0;
}

#ifdef SW_FUZZ_STANDALONE
#include "replay.h"

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    if (fuzz_replay(argc, argv))
        return 1;
    server.store->ops->close(server.store);
    sw_sched_free(&server.sched);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", home);
    return system(cmd) == 0 ? 0 : 1;
}
#endif
