/* SPDX-License-Identifier: MIT
 * http.h - libmicrohttpd driven by the libuv loop (no MHD thread): each listener's
 * epoll fd is watched by a uv_poll, MHD's timeout arms a uv_timer. A request is read
 * whole (bounded), routed through the table in routes.c, handled on the loop, and
 * its response is held back (the connection suspended) until every change made so
 * far is committed; long-polls suspend the same way until woken or timed out. */
#ifndef SW_HTTP_H
#define SW_HTTP_H

#include "core/buf.h"

#include <stdint.h>
#include <uv.h>

struct sw_server;
struct sw_request;
struct sw_route;
struct sw_http_listener;
struct MHD_UpgradeResponseHandle;

#define SW_ROUTE_MAX_PARAMS 3

/* A streamed body: writes up to max bytes at buf and returns how many, 0 when nothing
 * is there yet (the connection waits until sw_stream_wake), -1 at the end. */
typedef long (*sw_stream_read_fn)(void *cls, char *buf, size_t max);

/* Long-poll continuation: called when woken (timed_out = 0) or at the deadline. */
typedef void (*sw_wait_cb)(struct sw_request *req, int timed_out);

/* An upgraded connection (the 101 is sent): fd is the callee's to read and write (not to
 * close); extra holds what the client sent past the request (borrowed for the call).
 * The callee ends it with sw_upgrade_close(l, urh). */
typedef void (*sw_upgrade_fn)(void *cls, struct sw_http_listener *l, int fd, const char *extra,
                              size_t extra_len, struct MHD_UpgradeResponseHandle *urh);

struct sw_request {
    struct sw_http_listener *listener;
    struct MHD_Connection *conn;
    struct sw_server *server;
    uint64_t id;
    const char *method;
    char *path; /* owned, without the query */
    int64_t start_us;
    struct sw_buf body;
    const struct sw_route *route;
    char *params[SW_ROUTE_MAX_PARAMS]; /* owned, percent-decoded */
    /* caller identity */
    int is_admin;
    struct sw_agent *agent; /* when authenticated with an agent token */
    /* response */
    int status;
    struct sw_buf response;
    const char *extra_header_name; /* e.g. Allow on a 405 */
    const char *content_type;      /* NULL = application/json */
    /* streamed body (sw_reply_stream) */
    sw_stream_read_fn stream_read;
    void (*stream_free)(void *cls);
    void (*stream_detach)(void *cls); /* the request is gone: forget it */
    void *stream_cls;
    int stream_suspended;
    /* protocol upgrade (sw_reply_websocket) */
    sw_upgrade_fn upgrade_fn;
    void *upgrade_cls;
    int upgraded; /* the socket was handed over: no longer a request in flight */
    char extra_header[64];
    int has_response;
    int suspended;
    int queued;
    uint64_t need_seq; /* commit batch the response waits for */
    /* long-poll */
    int waiting;
    uv_timer_t wait_timer;
    int wait_timer_init;
    sw_wait_cb wait_cb;
    void *wait_data;
    struct sw_request *wait_next, *wait_prev; /* in a wait list (owner's) */
    struct sw_request *commit_next;           /* in the server's commit-wait list */
    struct sw_decoded *decoded;               /* query values decoded (sw_request_query) */
};

struct sw_http_listener {
    struct sw_server *server;
    struct MHD_Daemon *mhd;
    int is_tcp;
    uv_poll_t poll;
    uv_timer_t timer;
    int fd;
    int needs_run; /* a connection was resumed: run MHD before the loop sleeps */
    char addr[128];
};

/* Starts a listener on an already bound and listening socket fd (ownership moves). */
int sw_http_listen(struct sw_server *server, struct sw_http_listener *l, int fd, int is_tcp);
/* Stops accepting new connections (existing ones go on). */
void sw_http_quiesce(struct sw_http_listener *l);
/* Closes every connection and the listener; uv handles are closed (async). */
void sw_http_stop(struct sw_http_listener *l);
/* Runs MHD now (after resuming connections). */
void sw_http_run(struct sw_http_listener *l);

/* Response helpers for handlers. body: compact JSON text (copied). */
void sw_reply(struct sw_request *req, int status, struct sw_buf *body);
void sw_reply_text(struct sw_request *req, int status, const char *json);
/* One JSON error shape: {"error":{"code","message","field"}} with rc's status. */
void sw_reply_error(struct sw_request *req, int rc, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Answers with a body produced by read as it comes (chunked); free(cls) when the
 * connection is done; detach(cls) when the request ends first. */
void sw_reply_stream(struct sw_request *req, int status, const char *content_type,
                     sw_stream_read_fn read, void (*free_fn)(void *), void (*detach)(void *),
                     void *cls);
/* WebSocket handshake (RFC 6455): checks the request (GET, Upgrade: websocket, Connection:
 * upgrade, a Sec-WebSocket-Key; else 400; Sec-WebSocket-Version other than 13: 426) and
 * answers 101 with its Sec-WebSocket-Accept; fn gets the socket once the 101 is sent.
 * 0, or the rc of the error (answered). */
int sw_reply_websocket(struct sw_request *req, sw_upgrade_fn fn, void *cls);
/* Gives an upgraded connection back to be closed. */
void sw_upgrade_close(struct sw_http_listener *l, struct MHD_UpgradeResponseHandle *urh);
/* New data for a stream that waits. */
void sw_stream_wake(struct sw_request *req);
/* Long-poll: suspends the request until sw_request_wake or timeout_ms. */
void sw_request_wait(struct sw_request *req, int64_t timeout_ms, sw_wait_cb cb);
void sw_request_wake(struct sw_request *req);
/* Value of a query argument (percent-decoded once) or header (borrowed until the request
 * ends), NULL when absent. The path is kept escaped by the HTTP layer and decoded segment
 * by segment by the router, so that "%2F" or "%3F" in a key are the key's own. */
const char *sw_request_query(struct sw_request *req, const char *key);
const char *sw_request_header(struct sw_request *req, const char *key);
/* Called by the server when the commit it waited for is done. */
void sw_request_resume(struct sw_request *req);

#endif
