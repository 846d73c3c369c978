/* SPDX-License-Identifier: MIT
 * http.c - libmicrohttpd inside the libuv loop, request bodies, routing, auth and the
 * suspend/resume dance that holds responses until they may be sent. */
#include "http.h"
#include "routes.h"
#include "server.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "model/task.h"

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ENVELOPE_BYTES (64 * 1024)

static void mhd_arm_timer(struct sw_http_listener *l);

/* ---- responses ---- */

void sw_reply(struct sw_request *req, int status, struct sw_buf *body)
{
    sw_buf_free(&req->response);
    req->response = *body;
    sw_buf_init(body, body->max);
    req->status = status;
    req->has_response = 1;
}

void sw_reply_text(struct sw_request *req, int status, const char *json)
{
    struct sw_buf body;
    sw_buf_init(&body, strlen(json) + 1);
    sw_buf_appendstr(&body, json);
    sw_reply(req, status, &body);
}

void sw_reply_error(struct sw_request *req, int rc, const char *field, const char *fmt, ...)
{
    char message[512];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(message, sizeof message, "%s", sw_strerror(rc));
    }
    struct sw_buf body;
    sw_buf_init(&body, 4096);
    sw_buf_appendf(&body, "{\"error\":{\"code\":\"%s\",\"message\":", sw_strerror_code(rc));
    sw_json_append_string(&body, message);
    if (field) {
        sw_buf_appendstr(&body, ",\"field\":");
        sw_json_append_string(&body, field);
    }
    sw_buf_appendstr(&body, "}}");
    int status = sw_error_http_status(rc);
    if (status >= 500)
        sw_log_error("http", "msg=\"request failed\" method=%s path=\"%s\" status=%d code=%s",
                     req->method, req->path, status, sw_strerror_code(rc));
    else
        sw_log_debug("http", "msg=\"client error\" method=%s path=\"%s\" status=%d code=%s",
                     req->method, req->path, status, sw_strerror_code(rc));
    sw_reply(req, status, &body);
}

void sw_reply_stream(struct sw_request *req, int status, const char *content_type,
                     sw_stream_read_fn read, void (*free_fn)(void *), void (*detach)(void *),
                     void *cls)
{
    req->stream_read = read;
    req->stream_free = free_fn;
    req->stream_detach = detach;
    req->stream_cls = cls;
    req->content_type = content_type;
    req->status = status;
    req->has_response = 1;
}

void sw_stream_wake(struct sw_request *req)
{
    if (!req->stream_suspended)
        return;
    req->stream_suspended = 0;
    MHD_resume_connection(req->conn);
    req->listener->needs_run = 1;
}

static ssize_t stream_reader_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sw_request *req = cls;
    long n = req->stream_read(req->stream_cls, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == 0 && !req->stream_suspended) {
        req->stream_suspended = 1; /* until sw_stream_wake: no busy polling */
        MHD_suspend_connection(req->conn);
    }
    return n;
}

/* ---- protocol upgrade (WebSocket) ---- */

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* 1 if the comma-separated header value holds token (case-insensitive). */
static int header_has_token(const char *value, const char *token)
{
    size_t n = strlen(token);
    while (value && *value) {
        value += strspn(value, " \t,");
        size_t len = strcspn(value, ",");
        size_t end = len;
        while (end && (value[end - 1] == ' ' || value[end - 1] == '\t'))
            end--;
        if (end == n && strncasecmp(value, token, n) == 0)
            return 1;
        value += len;
    }
    return 0;
}

/* A Sec-WebSocket-Key: 16 bytes in base64 (24 characters, "==" at the end). */
static int websocket_key_valid(const char *key)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (key == NULL || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return 0;
    for (int i = 0; i < 22; i++)
        if (strchr(b64, key[i]) == NULL)
            return 0;
    return 1;
}

/* The header a WebSocket handshake gets wrong (NULL: none). */
static const char *websocket_bad_header(struct sw_request *req, const char *key)
{
    if (strcmp(req->method, "GET") != 0)
        return "method";
    if (!header_has_token(sw_request_header(req, MHD_HTTP_HEADER_UPGRADE), "websocket"))
        return MHD_HTTP_HEADER_UPGRADE;
    if (!header_has_token(sw_request_header(req, MHD_HTTP_HEADER_CONNECTION), "upgrade"))
        return MHD_HTTP_HEADER_CONNECTION;
    if (!websocket_key_valid(key))
        return "Sec-WebSocket-Key";
    if (sw_request_header(req, "Sec-WebSocket-Version") == NULL)
        return "Sec-WebSocket-Version";
    return NULL;
}

int sw_reply_websocket(struct sw_request *req, sw_upgrade_fn fn, void *cls)
{
    const char *version = sw_request_header(req, "Sec-WebSocket-Version");
    const char *key = sw_request_header(req, "Sec-WebSocket-Key");
    const char *bad = websocket_bad_header(req, key);
    if (bad) {
        sw_reply_error(req, SW_EINVAL, bad, "not a WebSocket handshake: %s is missing or wrong",
                       bad);
        return SW_EINVAL;
    }
    if (strcmp(version, "13") != 0) {
        sw_reply_error(req, SW_EINVAL, "Sec-WebSocket-Version", "WebSocket version 13 is required");
        req->status = MHD_HTTP_UPGRADE_REQUIRED;
        req->extra_header_name = "Sec-WebSocket-Version";
        snprintf(req->extra_header, sizeof req->extra_header, "13");
        return SW_EINVAL;
    }
    char input[24 + sizeof WS_GUID];
    unsigned char digest[SHA_DIGEST_LENGTH];
    snprintf(input, sizeof input, "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)input, strlen(input), digest);
    EVP_EncodeBlock((unsigned char *)req->extra_header, digest, SHA_DIGEST_LENGTH);
    req->extra_header_name = "Sec-WebSocket-Accept";
    req->upgrade_fn = fn;
    req->upgrade_cls = cls;
    req->status = MHD_HTTP_SWITCHING_PROTOCOLS;
    req->has_response = 1;
    return 0;
}

static void upgraded_cb(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
                        size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct sw_request *req = con_cls;
    if (req == NULL) { /* cannot happen: the request ends with the connection */
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    req->upgraded = 1;
    req->server->requests_in_flight--;
    req->upgrade_fn(req->upgrade_cls, req->listener, sock, extra, extra_len, urh);
}

void sw_upgrade_close(struct sw_http_listener *l, struct MHD_UpgradeResponseHandle *urh)
{
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    l->needs_run = 1; /* MHD closes the socket when it runs */
}

static struct MHD_Response *upgrade_response(struct sw_request *req)
{
    struct MHD_Response *resp = MHD_create_response_for_upgrade(upgraded_cb, req);
    if (resp && MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket") != MHD_YES) {
        MHD_destroy_response(resp);
        resp = NULL;
    }
    return resp;
}

static enum MHD_Result queue_response(struct sw_request *req)
{
    size_t len = 0;
    char *data = req->stream_read ? NULL : sw_buf_detach(&req->response, &len);
    struct MHD_Response *resp =
        req->upgrade_fn ? upgrade_response(req)
        : req->stream_read
            ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader_cb, req,
                                                NULL) /* the stream is freed with req */
            : MHD_create_response_from_buffer(len, data ? data : (char *)"",
                                              data ? MHD_RESPMEM_MUST_FREE
                                                   : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        sw_free(data);
        return MHD_NO;
    }
    const char *type =
        req->status == 200 && req->route && strcmp(req->route->pattern, "/metrics") == 0
            ? "text/plain; version=0.0.4; charset=utf-8"
            : "application/json";
    if (req->content_type && req->status < 300)
        type = req->content_type;
    if (!req->upgrade_fn)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (req->extra_header_name)
        MHD_add_response_header(resp, req->extra_header_name, req->extra_header);
    if (req->server->stopping && !req->upgrade_fn)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    req->queued = 1;
    sw_metrics_http(&req->server->metrics, sw_route_index(req->route),
                    req->route ? req->route->pattern : "unmatched", req->status);
    sw_log_request_id = req->id;
    sw_log_debug("http", "msg=\"request\" method=%s path=\"%s\" status=%d us=%lld", req->method,
                 req->path, req->status, (long long)(sw_clock_mono_us() - req->start_us));
    sw_log_request_id = 0;
    return ok;
}

/* ---- waiting ---- */

static void wait_timer_cb(uv_timer_t *timer)
{
    struct sw_request *req = timer->data;
    if (!req->waiting)
        return;
    req->waiting = 0;
    req->wait_cb(req, 1);
}

void sw_request_wait(struct sw_request *req, int64_t timeout_ms, sw_wait_cb cb)
{
    req->waiting = 1;
    req->wait_cb = cb;
    if (!req->wait_timer_init) {
        uv_timer_init(req->server->loop, &req->wait_timer);
        req->wait_timer.data = req;
        req->wait_timer_init = 1;
    }
    uv_timer_start(&req->wait_timer, wait_timer_cb, (uint64_t)(timeout_ms > 0 ? timeout_ms : 0), 0);
}

void sw_request_wake(struct sw_request *req)
{
    if (!req->waiting)
        return;
    req->waiting = 0;
    uv_timer_stop(&req->wait_timer);
    req->wait_cb(req, 0);
}

void sw_request_resume(struct sw_request *req)
{
    if (!req->suspended)
        return;
    req->suspended = 0;
    MHD_resume_connection(req->conn);
    req->listener->needs_run = 1;
}

/* ---- queries and headers ---- */

struct sw_decoded {
    struct sw_decoded *next;
    char text[];
};

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

const char *sw_request_query(struct sw_request *req, const char *key)
{
    const char *raw = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
    if (raw == NULL || strchr(raw, '%') == NULL)
        return raw;
    size_t len = strlen(raw);
    struct sw_decoded *d = sw_malloc(sizeof *d + len + 1);
    if (d == NULL)
        return raw;
    char *o = d->text;
    for (size_t i = 0; i < len; i++) {
        int hi = raw[i] == '%' && i + 2 < len ? hex_digit(raw[i + 1]) : -1;
        int lo = hi >= 0 ? hex_digit(raw[i + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = raw[i];
        }
    }
    *o = '\0';
    d->next = req->decoded;
    req->decoded = d;
    return d->text;
}

/* MHD would unescape the path before it reaches the router (and the query values, which
 * sw_request_query decodes instead): keep both as they came. */
static size_t keep_escaped(void *cls, struct MHD_Connection *conn, char *s)
{
    return strlen(s);
}

const char *sw_request_header(struct sw_request *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, key);
}

/* ---- auth ---- */

static const char *bearer_token(struct sw_request *req)
{
    const char *auth = sw_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    return auth + 7;
}

static int token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

/* Sets is_admin / agent; 0 or an error rc (already answered). */
static int authenticate(struct sw_request *req)
{
    struct sw_server *s = req->server;
    const char *token = bearer_token(req);
    const char *admin = s->cfg.admin_token;
    if (!req->listener->is_tcp || admin == NULL || *admin == '\0')
        req->is_admin = 1;
    if (token && admin && *admin && token_equal(token, admin))
        req->is_admin = 1;
    if (token && !req->is_admin)
        req->agent = sw_server_agent_by_token(s, token);
    else if (token && req->route->auth == SW_AUTH_AGENT)
        req->agent = sw_server_agent_by_token(s, token);
    if (req->route->auth == SW_AUTH_PUBLIC || req->is_admin)
        return 0;
    if (req->route->auth == SW_AUTH_AGENT && req->agent)
        return 0;
    if (req->route->auth == SW_AUTH_ADMIN && req->agent) {
        sw_reply_error(req, SW_EFORBIDDEN, NULL, "an agent token may not call %s %s", req->method,
                       req->route->pattern);
        return SW_EFORBIDDEN;
    }
    sw_reply_error(req, SW_EUNAUTHORIZED, NULL,
                   token ? "the bearer token is not valid" : "this call needs a bearer token");
    return SW_EUNAUTHORIZED;
}

/* ---- request lifecycle ---- */

static struct sw_request *request_new(struct sw_http_listener *l, struct MHD_Connection *conn,
                                      const char *url, const char *method)
{
    struct sw_request *req = sw_calloc(1, sizeof *req);
    if (req == NULL)
        return NULL;
    req->listener = l;
    req->server = l->server;
    req->conn = conn;
    req->id = ++l->server->next_request_id;
    req->method = method;
    req->start_us = sw_clock_mono_us();
    const char *q = strchr(url, '?');
    req->path = q ? sw_strndup(url, (size_t)(q - url)) : sw_strdup(url);
    if (req->path == NULL) {
        sw_free(req);
        return NULL;
    }
    sw_buf_init(&req->response, 1);
    l->server->requests_in_flight++;
    return req;
}

static void request_free_cb(uv_handle_t *handle)
{
    sw_free(handle->data);
}

static void request_free(struct sw_request *req)
{
    if (!req->upgraded)
        req->server->requests_in_flight--;
    if (req->stream_cls) {
        if (req->stream_detach)
            req->stream_detach(req->stream_cls);
        if (req->stream_free)
            req->stream_free(req->stream_cls);
        req->stream_cls = NULL;
    }
    while (req->decoded) {
        struct sw_decoded *d = req->decoded;
        req->decoded = d->next;
        sw_free(d);
    }
    sw_buf_free(&req->body);
    sw_buf_free(&req->response);
    for (int i = 0; i < SW_ROUTE_MAX_PARAMS; i++)
        sw_free(req->params[i]);
    sw_free(req->path);
    if (req->wait_timer_init) {
        uv_timer_stop(&req->wait_timer);
        uv_close((uv_handle_t *)&req->wait_timer, request_free_cb);
        return;
    }
    sw_free(req);
}

static void route_request(struct sw_request *req)
{
    int path_matched;
    req->route = sw_route_match(req->method, req->path, req->params, &path_matched);
    size_t max_body = ENVELOPE_BYTES + (size_t)req->server->cfg.max_payload;
    if (req->route && req->route->max_body == SW_BODY_MEMORY) /* the value limit says why */
        max_body = 2 * req->server->cfg.memory_limits.max_value + ENVELOPE_BYTES;
    else if (req->route && req->route->max_body)
        max_body = req->route->max_body;
    sw_buf_init(&req->body, max_body);
    if (req->route)
        return;
    if (path_matched) {
        sw_route_allowed(req->path, req->extra_header, sizeof req->extra_header);
        req->extra_header_name = MHD_HTTP_HEADER_ALLOW;
        sw_reply_error(req, SW_EBAD_METHOD, NULL, "%s is not allowed on %s (allowed: %s)",
                       req->method, req->path, req->extra_header);
    } else {
        sw_reply_error(req, SW_ENO_ROUTE, NULL, "no route %s %s", req->method, req->path);
    }
}

/* The body is complete: authenticate and run the handler. */
static void dispatch(struct sw_request *req)
{
    struct sw_server *s = req->server;
    sw_log_request_id = req->id;
    if (req->has_response) {
        /* routing already answered */
    } else if (authenticate(req) == 0) {
        if (s->stopping && req->route->auth != SW_AUTH_PUBLIC)
            sw_reply_error(req, SW_ESHUTTING_DOWN, NULL, NULL);
        else if (!s->ready && req->route->auth != SW_AUTH_PUBLIC)
            sw_reply_error(req, SW_ENOT_READY, NULL, NULL);
        else
            req->route->handler(req);
    }
    sw_log_request_id = 0;
}

/* Answers 413 at once, before the body is read: MHD closes the connection after it. */
static enum MHD_Result reply_too_large(struct sw_request *req)
{
    if (!req->has_response)
        sw_reply_error(req, SW_ETOO_LARGE, NULL, "the body is larger than %zu bytes",
                       req->body.max);
    return queue_response(req);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct sw_http_listener *l = cls;
    struct sw_request *req = *con_cls;
    if (req == NULL) {
        req = request_new(l, conn, url, method);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        route_request(req);
        const char *length =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull(length, NULL, 10) > req->body.max)
            return reply_too_large(req);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (req->queued) {
            *upload_data_size = 0; /* the 413 is on its way; the rest is dropped */
            return MHD_YES;
        }
        int rc = sw_buf_append(&req->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return rc ? reply_too_large(req) : MHD_YES;
    }
    if (req->queued)
        return MHD_YES;
    if (!req->has_response && !req->waiting) {
        dispatch(req);
        if (req->has_response && !req->waiting)
            sw_server_respond(l->server, req);
    }
    if (req->has_response && !req->suspended && req->need_seq <= l->server->committed_seq)
        return queue_response(req);
    if (!req->suspended) {
        req->suspended = 1;
        MHD_suspend_connection(conn);
    }
    return MHD_YES;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct sw_request *req = *con_cls;
    if (req == NULL)
        return;
    *con_cls = NULL;
    if (req->waiting) {
        req->waiting = 0;
        req->wait_cb(req, -1); /* unlink only: the connection is gone */
    }
    request_free(req);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    sw_log_debug("http", "msg=\"%s\"", text);
}

/* ---- loop integration ---- */

void sw_http_run(struct sw_http_listener *l)
{
    if (l->mhd == NULL)
        return;
    l->needs_run = 0;
    MHD_run(l->mhd);
    mhd_arm_timer(l);
}

static void mhd_poll_cb(uv_poll_t *poll, int status, int events)
{
    sw_http_run(poll->data);
}

static void mhd_timer_cb(uv_timer_t *timer)
{
    sw_http_run(timer->data);
}

static void mhd_arm_timer(struct sw_http_listener *l)
{
    MHD_UNSIGNED_LONG_LONG timeout;
    if (MHD_get_timeout(l->mhd, &timeout) == MHD_YES)
        uv_timer_start(&l->timer, mhd_timer_cb, timeout, 0);
    else
        uv_timer_stop(&l->timer);
}

int sw_http_listen(struct sw_server *server, struct sw_http_listener *l, int fd, int is_tcp)
{
    l->server = server;
    l->is_tcp = is_tcp;
    l->fd = fd;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE | MHD_USE_TURBO |
                     MHD_USE_ERROR_LOG;
    l->mhd =
        MHD_start_daemon(flags, 0, NULL, NULL, access_cb, l, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_NOTIFY_COMPLETED, completed_cb, l, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)server->cfg.max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         (size_t)server->cfg.max_header_bytes, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)600, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l,
                         MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL, MHD_OPTION_END);
    if (l->mhd == NULL) {
        close(fd);
        return SW_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    uv_poll_init(server->loop, &l->poll, info->epoll_fd);
    l->poll.data = l;
    uv_poll_start(&l->poll, UV_READABLE, mhd_poll_cb);
    uv_timer_init(server->loop, &l->timer);
    l->timer.data = l;
    mhd_arm_timer(l);
    return 0;
}

void sw_http_quiesce(struct sw_http_listener *l)
{
    if (l->mhd == NULL || l->fd < 0)
        return;
    MHD_socket fd = MHD_quiesce_daemon(l->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    l->fd = -1;
}

void sw_http_stop(struct sw_http_listener *l)
{
    if (l->mhd == NULL)
        return;
    uv_poll_stop(&l->poll);
    uv_close((uv_handle_t *)&l->poll, NULL);
    uv_timer_stop(&l->timer);
    uv_close((uv_handle_t *)&l->timer, NULL);
    MHD_stop_daemon(l->mhd);
    l->mhd = NULL;
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}
