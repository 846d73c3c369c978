/* SPDX-License-Identifier: MIT
 * fuzz_api_body.c - libFuzzer target for the HTTP request bodies: the first byte picks a
 * route (task submit, agent register, task complete, fail, progress, cancel), the rest is
 * the body, handed to the real handler with a real scheduler and SQLite store. Every
 * request must be answered with a status and a body that parses as JSON. Built without
 * libFuzzer (SW_FUZZ_STANDALONE), main() replays the corpus files given as arguments:
 * that is how CTest runs it. */
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
    if (inputs++ % 5000 != 0)
        return;
    sw_sched_free(&server.sched);
    sw_map_free(&server.agent_tokens);
    sw_sched_init(&server.sched, &server.cfg.sched, NULL, 42);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    sw_log_level = -1;
    snprintf(home, sizeof home, "/tmp/swarmd-fuzz.XXXXXX");
    if (mkdtemp(home) == NULL)
        abort();
    static char db[128];
    snprintf(db, sizeof db, "%s/swarmd.db", home);
    memset(&server, 0, sizeof server);
    server.cfg.max_payload = 4096;
    server.cfg.max_wait_ms = 0;
    server.cfg.sched = (struct sw_sched_config){30000, 5000, 3, 3, {1000, 60000, 2.0}, 100};
    struct sw_store_options so = {db, SW_STORE_SYNC_OFF};
    if (sw_store_sqlite_ops.open(&server.store, &so))
        abort();
    server.ready = 1;
    sw_sched_init(&server.sched, &server.cfg.sched, NULL, 42);
    return 0;
}

struct fuzz_route {
    sw_handler_fn handler;
    const char *param;
};

static const struct fuzz_route fuzz_routes[] = {
    {sw_api_task_submit, NULL},
    {sw_api_agent_register, NULL},
    {sw_api_task_complete, "t_0000000000000001"},
    {sw_api_task_fail, "t_0000000000000001"},
    {sw_api_task_progress, "t_0000000000000001"},
    {sw_api_task_cancel, "t_0000000000000001"},
};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1)
        return 0;
    server_reset();
    const struct fuzz_route *r =
        &fuzz_routes[data[0] % (sizeof fuzz_routes / sizeof fuzz_routes[0])];
    struct sw_request req;
    memset(&req, 0, sizeof req);
    req.server = &server;
    req.method = "POST";
    req.path = "/fuzz";
    req.is_admin = 1;
    req.params[0] = (char *)r->param;
    sw_buf_init(&req.body, 1 << 20);
    sw_buf_init(&req.response, 1);
    sw_buf_append(&req.body, data + 1, size - 1);
    r->handler(&req);
    if (!req.has_response || req.status < 200 || req.status > 599)
        abort();
    json_error_t err;
    json_t *reply = json_loadb(req.response.data, req.response.len, 0, &err);
    if (reply == NULL) {
        fprintf(stderr, "reply is not JSON: %.*s\n", (int)req.response.len, req.response.data);
        abort();
    }
    json_decref(reply);
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
