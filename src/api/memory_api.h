/* SPDX-License-Identifier: MIT
 * memory_api.h - the shared memory's operations (get, put with compare-and-swap,
 * delete, list, transactions, TTL expiry), each change appended to the open commit
 * batch with its event, so that it is durable and announced in one transaction. Used
 * by the HTTP routes and by stdio agents' JSON-RPC calls alike. */
#ifndef SW_MEMORY_API_H
#define SW_MEMORY_API_H

#include "core/buf.h"
#include "model/event.h"
#include "model/memory.h"

#include <jansson.h>

struct sw_server;
struct sw_agent;

/* The outcome of an operation: rc 0 with body (the answer's JSON), or an error code
 * with the field and message; a conflict's body is the current entry (or null). */
struct sw_mem_result {
    int rc;
    int status; /* on success: 200 or 201 */
    char field[160];
    char message[256];
    struct sw_buf body;
};

void sw_mem_result_init(struct sw_mem_result *r);
void sw_mem_result_free(struct sw_mem_result *r);

/* args: {"value","ttl_ms","labels","expect_version"} (put), {"expect_version"} (delete).
 * create_only: If-None-Match: *. by: the calling agent or NULL. */
void sw_mem_op_get(struct sw_server *s, const char *ns, const char *key, struct sw_mem_result *r);
void sw_mem_op_put(struct sw_server *s, const struct sw_agent *by, const char *ns, const char *key,
                   json_t *args, int create_only, struct sw_mem_result *r);
void sw_mem_op_delete(struct sw_server *s, const struct sw_agent *by, const char *ns,
                      const char *key, json_t *args, struct sw_mem_result *r);
void sw_mem_op_list(struct sw_server *s, const char *ns, const char *prefix, const char *cursor,
                    int64_t limit, struct sw_mem_result *r);
void sw_mem_op_txn(struct sw_server *s, const struct sw_agent *by, json_t *args,
                   struct sw_mem_result *r);
/* A watch's event filter: memory events of ns whose key starts with prefix. */
int sw_mem_watch_filter(const char *ns, const char *prefix, struct sw_event_filter *f);

/* Server plumbing: the expiry timer. */
int sw_memory_api_start(struct sw_server *s);
void sw_memory_api_stop(struct sw_server *s);

#endif
