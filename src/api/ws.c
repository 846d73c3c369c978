/* SPDX-License-Identifier: MIT
 * ws.c - the WebSocket endpoint GET /v1/ws. libmicrohttpd answers the handshake and hands
 * the socket over; from then on it is non-blocking, watched by a uv_poll on the loop, and
 * framed by wslay (fragments, ping/pong, close). A client sends JSON text messages:
 * subscribe (events), watch (memory changes), unsubscribe, ping. Each subscription is an
 * event bus reader (struct sw_sub) pulled only while the connection's outgoing queue has
 * room: a client that does not read costs its bounded queue and its positions, nothing
 * more, and never slows the others. The protocol: docs/api/websocket.md. */
#include "ws.h"
#include "events.h"
#include "http.h"
#include "routes.h"
#include "server.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "model/fields.h"
#include "model/memory.h"
#include "model/task.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#define WS_MAX_MESSAGE (1 << 20)          /* a client's message, once reassembled */
#define WS_QUEUE_MAX   (256 * 1024)       /* events are pulled only while less is queued */
#define WS_READ_MAX    (2 * WS_QUEUE_MAX) /* past this the client's messages wait too */
#define WS_RECV_BUDGET (256 * 1024)       /* bytes read per wakeup; the rest next loop turn */
#define WS_PUMP_BUDGET 256                /* events sent per connection and loop turn */
#define WS_OUT_MAX     ((size_t)64 << 20) /* one outgoing message (an event is at most 64 MiB) */
#define WS_MAX_SUBS    64
#define WS_ID_MAX      128
#define WS_PING_MS     30000 /* silence before a ping; as long again without an answer: closed */
#define WS_LINGER_MS   2000  /* after a close for refused input: what still comes is dropped */
#define WS_HANDLES     3     /* poll, ping timer, pump idle: freed when all are closed */

struct ws_sub {
    struct sw_sub sub; /* its cls is this ws_sub */
    struct sw_ws_conn *conn;
    char *id;      /* owned: the client's name for it */
    int is_watch;  /* memory watch: sends the change (the event's data) */
    int caught_up; /* waits for the bus's wake */
    int failed;    /* reading failed: removed after the pump */
    struct ws_sub *next;
};

struct sw_ws_conn {
    struct sw_server *server;
    struct sw_http_listener *listener;
    struct MHD_UpgradeResponseHandle *urh;
    int fd;
    uint64_t id;
    wslay_event_context_ptr ctx;
    uv_poll_t poll;
    uv_timer_t ping_timer;
    uv_idle_t pump_idle;
    int poll_events;
    int handles_open;
    int closing;
    int lingering; /* our close frame is out: reading and dropping until the client closes */
    int failed;    /* out of memory while queueing: closed after the current step */
    char *extra;   /* owned: bytes read by MHD past the request */
    size_t extra_len, extra_pos;
    size_t recv_budget;
    int64_t last_recv_ms;
    int64_t ping_sent_ms; /* 0 = no ping waiting for its answer */
    struct ws_sub *subs;
    int nsubs;
    struct sw_buf out; /* the message being built */
    struct sw_ws_conn *prev, *next;
};

static uint64_t next_conn_id;

static void conn_service(struct sw_ws_conn *c, int readable);
static void conn_close(struct sw_ws_conn *c, uint16_t code);
static void poll_cb(uv_poll_t *poll, int status, int events);
static void ping_timer_cb(uv_timer_t *timer);

/* ---- sending ---- */

static void queue_out(struct sw_ws_conn *c)
{
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)c->out.data, c->out.len};
    int rc = wslay_event_queue_msg(c->ctx, &msg);
    if (rc == WSLAY_ERR_NOMEM)
        c->failed = 1;
    /* WSLAY_ERR_NO_MORE_MSG: closing, nothing more goes out */
    sw_buf_reset(&c->out);
    if (c->out.cap > 65536)
        sw_buf_free(&c->out); /* one large event does not stay with the connection */
}

/* Starts a reply: {"op":"<op>" and, when id is given, ,"<id_key>":"<id>". */
static int out_begin(struct sw_ws_conn *c, const char *op, const char *id_key, const char *id)
{
    sw_buf_reset(&c->out);
    int rc = sw_buf_appendf(&c->out, "{\"op\":\"%s\"", op);
    if (id && rc == 0) {
        rc = sw_buf_appendf(&c->out, ",\"%s\":", id_key);
        rc = rc ? rc : sw_json_append_string(&c->out, id);
    }
    return rc;
}

/* Queues out, or drops it (the connection fails when out of memory). */
static void out_end(struct sw_ws_conn *c, int rc)
{
    rc = rc ? rc : sw_buf_appendstr(&c->out, "}");
    if (rc) {
        sw_buf_reset(&c->out);
        if (rc == SW_ENOMEM)
            c->failed = 1;
        return;
    }
    queue_out(c);
}

static void send_error(struct sw_ws_conn *c, const char *id, int code, const char *field,
                       const char *message)
{
    int rc = out_begin(c, "error", "id", id);
    rc = rc ? rc : sw_buf_appendf(&c->out, ",\"code\":\"%s\",\"message\":", sw_strerror_code(code));
    rc = rc ? rc : sw_json_append_string(&c->out, message);
    if (field && *field) {
        rc = rc ? rc : sw_buf_appendstr(&c->out, ",\"field\":");
        rc = rc ? rc : sw_json_append_string(&c->out, field);
    }
    out_end(c, rc);
}

/* {"op":"event","sub":..,"event":<CloudEvent>} or, for a watch,
 * {"op":"change","sub":..,"change":<the event's data>}: the event's text as it is. */
static void send_event(struct sw_ws_conn *c, struct ws_sub *ws, const struct sw_event *ev)
{
    const char *text = ws->is_watch ? ev->json + ev->data_off : ev->json;
    size_t len = ws->is_watch ? ev->len - 1 - ev->data_off : ev->len;
    int rc = out_begin(c, ws->is_watch ? "change" : "event", "sub", ws->id);
    rc = rc ? rc : sw_buf_appendstr(&c->out, ws->is_watch ? ",\"change\":" : ",\"event\":");
    rc = rc ? rc : sw_buf_append(&c->out, text, len);
    if (rc == SW_ETOO_LARGE) {
        sw_buf_reset(&c->out);
        sw_log_warn("ws", "msg=\"event too large to send\" conn=%llu seq=%llu",
                    (unsigned long long)c->id, (unsigned long long)ev->seq);
        return;
    }
    out_end(c, rc);
}

static void send_gap(struct sw_ws_conn *c, struct ws_sub *ws, uint64_t first)
{
    int rc = out_begin(c, "gap", "sub", ws->id);
    rc = rc ? rc : sw_buf_appendf(&c->out, ",\"first_available\":%llu", (unsigned long long)first);
    out_end(c, rc);
}

/* ---- subscriptions ---- */

static void pump_idle_cb(uv_idle_t *idle)
{
    struct sw_ws_conn *c = idle->data;
    uv_idle_stop(idle);
    conn_service(c, c->extra_pos < c->extra_len);
}

/* Pumps in the next loop turn (never from inside the bus or wslay). */
static void schedule_pump(struct sw_ws_conn *c)
{
    if (!c->closing)
        uv_idle_start(&c->pump_idle, pump_idle_cb);
}

static void sub_wake_cb(struct sw_sub *sub)
{
    struct ws_sub *ws = sub->cls;
    ws->caught_up = 0;
    schedule_pump(ws->conn);
}

static struct ws_sub *sub_find(struct sw_ws_conn *c, const char *id)
{
    for (struct ws_sub *ws = c->subs; ws; ws = ws->next)
        if (strcmp(ws->id, id) == 0)
            return ws;
    return NULL;
}

static void sub_free(struct sw_ws_conn *c, struct ws_sub *ws)
{
    struct ws_sub **p = &c->subs;
    while (*p && *p != ws)
        p = &(*p)->next;
    if (*p)
        *p = ws->next;
    sw_sub_stop(&ws->sub);
    sw_free(ws->id);
    sw_free(ws);
    c->nsubs--;
}

/* Opens a subscription (filter moved in) and answers with its starting position. */
static int sub_open(struct sw_ws_conn *c, const char *id, struct sw_event_filter *filter,
                    uint64_t after, int is_watch, struct sw_field_error *err)
{
    struct ws_sub *ws = sw_calloc(1, sizeof *ws);
    char *copy = sw_strdup(id);
    if (ws == NULL || copy == NULL) {
        sw_free(ws);
        sw_free(copy);
        sw_event_filter_free(filter);
        return sw_field_fail(err, SW_ENOMEM, "", "out of memory");
    }
    ws->conn = c;
    ws->id = copy;
    ws->is_watch = is_watch;
    sw_sub_init(&ws->sub, c->server, filter, after, sub_wake_cb, ws);
    sw_sub_start(&ws->sub);
    struct ws_sub **tail = &c->subs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = ws;
    c->nsubs++;
    int rc = out_begin(c, is_watch ? "watching" : "subscribed", "id", id);
    rc = rc ? rc
            : sw_buf_appendf(&c->out, is_watch ? ",\"after_revision\":%llu" : ",\"after\":%llu",
                             (unsigned long long)ws->sub.after);
    out_end(c, rc);
    return 0;
}

/* One step of one subscription; 0 when it has nothing more now. */
static int sub_pull(struct sw_ws_conn *c, struct ws_sub *ws)
{
    const struct sw_event *ev;
    uint64_t first = 0;
    int rc = sw_events_next(&ws->sub, &ev, &first);
    if (rc == 1) {
        send_event(c, ws, ev);
        return 1;
    }
    if (rc == 0) {
        ws->caught_up = 1;
        return 0;
    }
    if (rc == SW_EGAP) {
        send_gap(c, ws, first);
        return 1;
    }
    char message[256];
    snprintf(message, sizeof message, "reading the event log failed (%s): the subscription ended",
             sw_strerror(rc));
    send_error(c, ws->id, rc, NULL, message);
    ws->failed = 1;
    return 0;
}

static int queue_has_room(struct sw_ws_conn *c)
{
    return wslay_event_get_queued_msg_length(c->ctx) < WS_QUEUE_MAX;
}

/* Sends what the subscriptions have, one event of each in turn, while the queue has
 * room. Returns 1 when it stopped for want of room (resumed once the queue drains). */
static int conn_pump(struct sw_ws_conn *c)
{
    int budget = WS_PUMP_BUDGET, blocked = 0, more = 1;
    while (more && budget > 0 && !c->failed && !blocked) {
        more = 0;
        for (struct ws_sub *ws = c->subs; ws && budget > 0 && !c->failed; ws = ws->next) {
            if (ws->caught_up || ws->failed)
                continue;
            if (!queue_has_room(c)) {
                blocked = 1;
                break;
            }
            more |= sub_pull(c, ws);
            budget--;
        }
    }
    for (struct ws_sub *ws = c->subs, *next; ws; ws = next) {
        next = ws->next;
        if (ws->failed)
            sub_free(c, ws);
    }
    if (budget == 0 && !blocked)
        schedule_pump(c); /* the others get their turn first */
    return blocked;
}

/* ---- client messages ---- */

static int check_new_id(struct sw_ws_conn *c, const char *id, struct sw_field_error *err)
{
    if (sub_find(c, id))
        return sw_field_fail(err, SW_EBAD_FIELD, "id", "a subscription \"%.128s\" is already open",
                             id);
    if (c->nsubs >= WS_MAX_SUBS)
        return sw_field_fail(err, SW_ELIMIT, "", "at most %d subscriptions per connection",
                             WS_MAX_SUBS);
    return 0;
}

/* "after"-style position: absent = from now. */
static int field_after(json_t *msg, const char *key, uint64_t *after, struct sw_field_error *err)
{
    int64_t value = -1;
    int rc = sw_field_get_int(msg, key, 0, INT64_MAX, &value, err);
    *after = value < 0 ? SW_EVENTS_NOW : (uint64_t)value;
    return rc;
}

static int op_subscribe(struct sw_ws_conn *c, json_t *msg, struct sw_field_error *err)
{
    static const char *const allowed[] = {"op", "id", "filter", "after", NULL};
    const char *id = NULL, *bad_key = NULL;
    uint64_t after;
    int rc;
    if ((rc = sw_fields_only(msg, allowed, NULL, err)) ||
        (rc = sw_field_get_string(msg, "id", 1, WS_ID_MAX, &id, err)) ||
        (rc = field_after(msg, "after", &after, err)) || (rc = check_new_id(c, id, err)))
        return rc;
    struct sw_event_filter filter = {0};
    rc = sw_event_filter_from_json(&filter, json_object_get(msg, "filter"), &bad_key);
    if (rc) {
        sw_event_filter_free(&filter);
        if (bad_key == NULL)
            return sw_field_fail(err, rc, "filter", "filter must be an object");
        char field[96];
        snprintf(field, sizeof field, "filter.%.80s", bad_key);
        if (rc == SW_EUNKNOWN_FIELD)
            return sw_field_fail(err, rc, field, "unknown field \"%s\" (type, source, subject)",
                                 field);
        return sw_field_fail(
            err, rc, field, "%s must be a string: an exact value or a prefix ending in '*'", field);
    }
    return sub_open(c, id, &filter, after, 0, err);
}

static int op_watch(struct sw_ws_conn *c, json_t *msg, struct sw_field_error *err)
{
    static const char *const allowed[] = {"op", "id", "ns", "prefix", "after_revision", NULL};
    const char *id = NULL, *ns = NULL, *prefix = "";
    uint64_t after;
    int rc;
    if ((rc = sw_fields_only(msg, allowed, NULL, err)) ||
        (rc = sw_field_get_string(msg, "id", 1, WS_ID_MAX, &id, err)) ||
        (rc = sw_field_get_string(msg, "ns", 1, SW_MEM_NS_MAX, &ns, err)) ||
        (rc = sw_field_get_string(msg, "prefix", 0, SW_EVENT_FIELD_MAX, &prefix, err)) ||
        (rc = field_after(msg, "after_revision", &after, err)) || (rc = check_new_id(c, id, err)))
        return rc;
    if (!sw_mem_ns_valid(ns))
        return sw_field_fail(err, SW_EBAD_FIELD, "ns", "ns must match [a-z0-9][a-z0-9._:-]{0,127}");
    char subject[SW_MEM_NS_MAX + SW_EVENT_FIELD_MAX + 4];
    int n = snprintf(subject, sizeof subject, "%s/%s*", ns, prefix);
    struct sw_event_filter filter = {0};
    if (n < 0 || (size_t)n >= sizeof subject ||
        (rc = sw_event_filter_set(&filter, "subject", subject)) != 0 ||
        (rc = sw_event_filter_set(&filter, "type", "swarmd.memory.*")) != 0) {
        sw_event_filter_free(&filter);
        if (rc == SW_ENOMEM)
            return sw_field_fail(err, rc, "", "out of memory");
        return sw_field_fail(err, SW_EBAD_FIELD, "prefix",
                             "prefix must be key text without control characters or '*'");
    }
    return sub_open(c, id, &filter, after, 1, err);
}

static int op_unsubscribe(struct sw_ws_conn *c, json_t *msg, struct sw_field_error *err)
{
    static const char *const allowed[] = {"op", "id", NULL};
    const char *id = NULL;
    int rc;
    if ((rc = sw_fields_only(msg, allowed, NULL, err)) ||
        (rc = sw_field_get_string(msg, "id", 1, WS_ID_MAX, &id, err)))
        return rc;
    struct ws_sub *ws = sub_find(c, id);
    if (ws == NULL)
        return sw_field_fail(err, SW_ENOT_FOUND, "id", "no subscription \"%s\"", id);
    sub_free(c, ws);
    out_end(c, out_begin(c, "unsubscribed", "id", id));
    return 0;
}

static int op_ping(struct sw_ws_conn *c, json_t *msg, struct sw_field_error *err)
{
    static const char *const allowed[] = {"op", "id", NULL};
    const char *id = NULL;
    int rc;
    if ((rc = sw_fields_only(msg, allowed, NULL, err)) ||
        (rc = sw_field_get_string(msg, "id", 0, WS_ID_MAX, &id, err)))
        return rc;
    out_end(c, out_begin(c, "pong", "id", id));
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(struct sw_ws_conn *c, json_t *msg, struct sw_field_error *err);
} ops[] = {
    {"subscribe", op_subscribe},
    {"watch", op_watch},
    {"unsubscribe", op_unsubscribe},
    {"ping", op_ping},
};

static void handle_text(struct sw_ws_conn *c, const uint8_t *data, size_t len)
{
    struct sw_field_error err = {{0}, {0}};
    json_error_t jerr;
    const char *id = NULL, *op = NULL;
    int rc;
    json_t *msg = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (msg == NULL) {
        rc = sw_field_fail(&err, SW_EBAD_JSON, "", "the message is not valid JSON: %s", jerr.text);
    } else if (!json_is_object(msg)) {
        rc = sw_field_fail(&err, SW_EBAD_JSON, "", "a message must be a JSON object");
    } else {
        json_t *jid = json_object_get(msg, "id");
        if (json_is_string(jid) && json_string_length(jid) <= WS_ID_MAX)
            id = json_string_value(jid);
        rc = sw_field_get_string(msg, "op", 1, 32, &op, &err);
        size_t i = 0;
        while (rc == 0 && i < sizeof ops / sizeof ops[0] && strcmp(ops[i].name, op) != 0)
            i++;
        if (rc == 0 && i == sizeof ops / sizeof ops[0])
            rc = sw_field_fail(&err, SW_EBAD_FIELD, "op",
                               "unknown op \"%s\" (subscribe, watch, unsubscribe, ping)", op);
        else if (rc == 0)
            rc = ops[i].fn(c, msg, &err);
    }
    if (rc) {
        sw_log_debug("ws", "msg=\"bad message\" conn=%llu code=%s field=\"%s\"",
                     (unsigned long long)c->id, sw_strerror_code(rc), err.field);
        send_error(c, id, rc, err.field, err.message);
    }
    json_decref(msg);
}

/* ---- wslay callbacks (they only read, write and queue) ---- */

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user_data)
{
    struct sw_ws_conn *c = user_data;
    if (c->extra_pos < c->extra_len) {
        size_t n = c->extra_len - c->extra_pos < len ? c->extra_len - c->extra_pos : len;
        memcpy(buf, c->extra + c->extra_pos, n);
        c->extra_pos += n;
        return (ssize_t)n;
    }
    if (c->recv_budget == 0) { /* the rest at the next wakeup: others get their turn */
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    ssize_t n = recv(c->fd, buf, len < c->recv_budget ? len : c->recv_budget, 0);
    if (n > 0) {
        c->recv_budget -= (size_t)n;
        c->last_recv_ms = sw_clock_mono_ms();
        c->ping_sent_ms = 0;
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE); /* EOF or reset */
    return -1;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user_data)
{
    struct sw_ws_conn *c = user_data;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static void on_msg_recv_cb(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_msg_recv_arg *arg, void *user_data)
{
    struct sw_ws_conn *c = user_data;
    if (arg->opcode == WSLAY_TEXT_FRAME)
        handle_text(c, arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_BINARY_FRAME)
        send_error(c, NULL, SW_EBAD_JSON, NULL, "messages are JSON text frames, not binary");
    /* ping: wslay answers; close: wslay answers, then both directions end */
}

static const struct wslay_event_callbacks ws_callbacks = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .on_msg_recv_callback = on_msg_recv_cb,
};

/* ---- the connection on the loop ---- */

static void poll_cb(uv_poll_t *poll, int status, int events)
{
    struct sw_ws_conn *c = poll->data;
    if (status < 0) {
        conn_close(c, 0);
        return;
    }
    conn_service(c, (events & (UV_READABLE | UV_DISCONNECT)) != 0);
}

/* We closed first, refusing the client's input (a protocol error, a message too large):
 * more of it may be on its way, and closing a socket with unread input resets it, so the
 * client might never read our close frame. So writing ends (after the close frame), and
 * what comes is read and dropped until the client closes or WS_LINGER_MS pass. */
static void conn_linger(struct sw_ws_conn *c)
{
    c->lingering = 1;
    while (c->subs)
        sub_free(c, c->subs);
    shutdown(c->fd, SHUT_WR);
    uv_timer_start(&c->ping_timer, ping_timer_cb, WS_LINGER_MS, 0);
    c->poll_events = UV_READABLE;
    uv_poll_start(&c->poll, UV_READABLE, poll_cb);
}

static void conn_drain(struct sw_ws_conn *c)
{
    char buf[16384];
    for (int i = 0; i < 16; i++) { /* at most 256 KiB per wakeup */
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        conn_close(c, 0); /* the client closed too */
        return;
    }
}

/* Polls for what wslay wants: reading while the queue is not too long (a client that does
 * not read cannot make its replies pile up), writing while something is queued. */
static void conn_update_poll(struct sw_ws_conn *c)
{
    int want_read = wslay_event_want_read(c->ctx);
    int want_write = wslay_event_want_write(c->ctx);
    if (!want_read && !want_write) { /* closed both ways */
        if (wslay_event_get_close_received(c->ctx))
            conn_close(c, 0);
        else
            conn_linger(c);
        return;
    }
    int events = want_write ? UV_WRITABLE : 0;
    if (want_read && wslay_event_get_queued_msg_length(c->ctx) < WS_READ_MAX)
        events |= UV_READABLE;
    if (events == c->poll_events)
        return;
    c->poll_events = events;
    if (events)
        uv_poll_start(&c->poll, events, poll_cb);
    else
        uv_poll_stop(&c->poll);
}

/* Reads (when readable), pumps the subscriptions and writes, until the socket or the
 * subscriptions have no more for now; then polls for what is left. */
static void conn_service(struct sw_ws_conn *c, int readable)
{
    if (c->closing)
        return;
    if (c->lingering) {
        if (readable)
            conn_drain(c);
        return;
    }
    if (readable && wslay_event_want_read(c->ctx)) {
        c->recv_budget = WS_RECV_BUDGET;
        if (wslay_event_recv(c->ctx) != 0) {
            conn_close(c, 0);
            return;
        }
    }
    for (int round = 0; round < 8 && !c->failed; round++) {
        int blocked = conn_pump(c);
        if (wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0) {
            conn_close(c, 0);
            return;
        }
        if (!blocked || !queue_has_room(c))
            break; /* caught up, or the socket is full: UV_WRITABLE resumes */
    }
    if (c->failed) {
        sw_log_error("ws", "msg=\"out of memory: connection closed\" conn=%llu",
                     (unsigned long long)c->id);
        conn_close(c, WSLAY_CODE_INTERNAL_SERVER_ERROR);
        return;
    }
    conn_update_poll(c); /* a full queue: pumping resumes on UV_WRITABLE */
}

static void ping_timer_cb(uv_timer_t *timer)
{
    struct sw_ws_conn *c = timer->data;
    int64_t now = sw_clock_mono_ms();
    if (c->lingering) {
        conn_close(c, 0);
        return;
    }
    if (c->ping_sent_ms && now - c->ping_sent_ms >= WS_PING_MS) {
        sw_log_info("ws", "msg=\"no answer to ping: connection closed\" conn=%llu",
                    (unsigned long long)c->id);
        conn_close(c, WSLAY_CODE_GOING_AWAY);
        return;
    }
    if (c->ping_sent_ms || now - c->last_recv_ms < WS_PING_MS)
        return;
    struct wslay_event_msg ping = {WSLAY_PING, (const uint8_t *)"", 0};
    if (wslay_event_queue_msg(c->ctx, &ping) == 0)
        c->ping_sent_ms = now;
    conn_service(c, 0);
}

static void handle_closed_cb(uv_handle_t *handle)
{
    struct sw_ws_conn *c = handle->data;
    if (--c->handles_open > 0)
        return;
    wslay_event_context_free(c->ctx);
    sw_buf_free(&c->out);
    sw_free(c->extra);
    sw_free(c);
}

/* Ends the connection: its subscriptions, a close frame when code != 0 (best effort:
 * whatever fits in the socket now), the loop handles, then the socket (MHD closes it). */
static void conn_close(struct sw_ws_conn *c, uint16_t code)
{
    if (c->closing)
        return;
    c->closing = 1;
    while (c->subs)
        sub_free(c, c->subs);
    if (code && !wslay_event_get_close_sent(c->ctx) &&
        wslay_event_queue_close(c->ctx, code, NULL, 0) == 0)
        wslay_event_send(c->ctx);
    uv_close((uv_handle_t *)&c->poll, handle_closed_cb); /* off the loop's epoll set now */
    uv_close((uv_handle_t *)&c->ping_timer, handle_closed_cb);
    uv_close((uv_handle_t *)&c->pump_idle, handle_closed_cb);
    sw_upgrade_close(c->listener, c->urh);
    struct sw_server *s = c->server;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->ws_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->ws_count--;
    sw_log_debug("ws", "msg=\"closed\" conn=%llu status=%u", (unsigned long long)c->id,
                 (unsigned)(wslay_event_get_close_received(c->ctx)
                                ? wslay_event_get_status_code_received(c->ctx)
                            : code ? code
                                   : WSLAY_CODE_ABNORMAL_CLOSURE));
}

static int conn_init(struct sw_ws_conn *c, struct sw_server *s, struct sw_http_listener *l, int fd,
                     const char *extra, size_t extra_len)
{
    c->server = s;
    c->listener = l;
    c->fd = fd;
    c->id = ++next_conn_id;
    c->last_recv_ms = sw_clock_mono_ms();
    sw_buf_init(&c->out, WS_OUT_MAX);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return SW_EIO;
    if (l->is_tcp) {
        int one = 1; /* small messages go out at once */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (extra_len) {
        if ((c->extra = sw_malloc(extra_len)) == NULL)
            return SW_ENOMEM;
        memcpy(c->extra, extra, extra_len);
        c->extra_len = extra_len;
    }
    if (wslay_event_context_server_init(&c->ctx, &ws_callbacks, c) != 0)
        return SW_ENOMEM;
    wslay_event_config_set_max_recv_msg_length(c->ctx, WS_MAX_MESSAGE);
    if (uv_poll_init(s->loop, &c->poll, fd) != 0)
        return SW_EIO;
    return 0;
}

static void ws_upgraded(void *cls, struct sw_http_listener *l, int fd, const char *extra,
                        size_t extra_len, struct MHD_UpgradeResponseHandle *urh)
{
    struct sw_server *s = cls;
    struct sw_ws_conn *c = sw_calloc(1, sizeof *c);
    int rc = c ? conn_init(c, s, l, fd, extra, extra_len) : SW_ENOMEM;
    if (rc) {
        sw_log_error("ws", "msg=\"connection not set up\" err=\"%s\"", sw_strerror(rc));
        if (c) {
            if (c->ctx)
                wslay_event_context_free(c->ctx);
            sw_free(c->extra);
            sw_free(c);
        }
        sw_upgrade_close(l, urh);
        return;
    }
    c->urh = urh;
    c->poll.data = c;
    uv_timer_init(s->loop, &c->ping_timer);
    c->ping_timer.data = c;
    uv_idle_init(s->loop, &c->pump_idle);
    c->pump_idle.data = c;
    c->handles_open = WS_HANDLES;
    c->next = s->ws_conns;
    if (s->ws_conns)
        s->ws_conns->prev = c;
    s->ws_conns = c;
    s->ws_count++;
    uv_timer_start(&c->ping_timer, ping_timer_cb, WS_PING_MS / 3, WS_PING_MS / 3);
    c->poll_events = UV_READABLE;
    uv_poll_start(&c->poll, UV_READABLE, poll_cb);
    if (c->extra_len)
        schedule_pump(c); /* frames that came with the request */
    sw_log_debug("ws", "msg=\"connected\" conn=%llu early_bytes=%zu", (unsigned long long)c->id,
                 extra_len);
}

void sw_api_ws(struct sw_request *req)
{
    sw_reply_websocket(req, ws_upgraded, req->server);
}

void sw_ws_close_all(struct sw_server *s)
{
    while (s->ws_conns)
        conn_close(s->ws_conns, WSLAY_CODE_GOING_AWAY);
}

long sw_ws_count(struct sw_server *s)
{
    return s->ws_count;
}
