/* SPDX-License-Identifier: MIT
 * events_cmd.c - "swarm events": a page of the daemon's event log (GET /v1/events) as
 * a table or as JSON lines, or with -f the events as they are committed (GET
 * /v1/events/stream, Server-Sent Events). Also the follower of such streams, shared
 * with "swarm memory watch": it reads the stream line by line, hands each message on,
 * keeps the id of the last one and, when the connection drops or the daemon ends the
 * stream, reconnects after a pause and resumes after that id (Last-Event-ID). */
#include "cli/events_cmd.h"

#include "cli/output.h"
#include "cli/stream.h"
#include "core/alloc.h"
#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_PATH_MAX     8192
#define EVENTS_DATA_WIDTH   64    /* bytes of the DATA column, "..." included */
#define FOLLOW_PAUSE_MIN_MS 500L  /* before reconnecting a stream that was flowing */
#define FOLLOW_PAUSE_MAX_MS 8000L /* pauses double up to this while it cannot be */
#define FOLLOW_EVENT_MAX    32    /* of an "event:" field; longer ones are not ours */

/* The message being read off a followed stream. */
struct follow_msg {
    struct sw_follow *f;
    struct sw_buf data; /* the "data:" lines, joined by '\n' */
    int has_data;
    char event[FOLLOW_EVENT_MAX]; /* the "event:" field; "" for a plain message */
    int64_t id;
    int has_id;
    int seen;   /* a line came on this connection */
    int ready;  /* a line came on any connection: ready_cb was called */
    int failed; /* the SW_E* code that ended the follow while reading, or 0 */
};

static void msg_reset(struct follow_msg *m)
{
    sw_buf_reset(&m->data);
    m->has_data = 0;
    m->event[0] = '\0';
    m->has_id = 0;
}

/* Reads a whole decimal number of at most 19 digits. 0 or SW_EINVAL. */
static int parse_seq(const char *text, size_t len, int64_t *out)
{
    char digits[20];
    char *end;

    if (len == 0 || len >= sizeof digits || !isdigit((unsigned char)text[0]))
        return SW_EINVAL;
    memcpy(digits, text, len);
    digits[len] = '\0';
    errno = 0;
    long long value = strtoll(digits, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return SW_EINVAL;
    *out = value;
    return 0;
}

/* "event: gap": the position was pruned; the stream goes on from first_available. */
static void follow_gap(struct follow_msg *m)
{
    json_t *data = json_loadb(m->data.len ? m->data.data : "", m->data.len, 0, NULL);
    json_int_t first = json_integer_value(json_object_get(data, "first_available"));

    fprintf(stderr,
            "swarm: gap: %s %lld to %lld were pruned before they were read; "
            "going on from %lld\n",
            m->f->noun, (long long)m->f->last + 1, (long long)first - 1, (long long)first);
    if (first - 1 > m->f->last)
        m->f->last = first - 1;
    json_decref(data);
}

/* A blank line ends a message: hand it on. */
static int follow_dispatch(struct follow_msg *m)
{
    struct sw_follow *f = m->f;
    const char *text = m->data.len ? m->data.data : "";
    json_t *data = NULL;
    int rc = 0;

    if (!m->has_data ||
        (m->event[0] && strcmp(m->event, "message") != 0 && strcmp(m->event, "gap") != 0)) {
        msg_reset(m); /* an empty message, or a kind this version does not know */
        return 0;
    }
    if (strcmp(m->event, "gap") == 0) {
        follow_gap(m);
        msg_reset(m);
        return 0;
    }
    data = json_loadb(text, m->data.len, JSON_DECODE_ANY, NULL);
    if (data == NULL) {
        fprintf(stderr, "swarm: a message from the daemon is not JSON: %.100s\n", text);
        rc = SW_EBAD_JSON;
    }
    if (rc == 0 && m->has_id)
        f->last = m->id;
    if (rc == 0 && f->cli->json) { /* JSON lines: the message as it came */
        fwrite(text, 1, m->data.len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    } else if (rc == 0) {
        rc = f->message_cb(f, data);
    }
    if (rc == 0 && ferror(stdout))
        rc = SW_EIO; /* said by the stream */
    if (rc == 0 && ++f->count == f->limit)
        rc = SW_STREAM_STOP;
    json_decref(data);
    msg_reset(m);
    return rc;
}

static int field_is(const char *line, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(line, name, len) == 0;
}

/* One line of text/event-stream: a field of the message, a comment, or its end. */
static int follow_line(struct follow_msg *m, const char *line, size_t len)
{
    const char *colon, *value;
    size_t name_len, value_len;
    int rc = 0;

    m->seen = 1;
    if (!m->ready && m->f->ready_cb)
        m->f->ready_cb(m->f);
    m->ready = 1;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return follow_dispatch(m);
    if (line[0] == ':')
        return 0; /* a comment: the heartbeat */
    colon = memchr(line, ':', len);
    name_len = colon ? (size_t)(colon - line) : len;
    value = colon ? colon + 1 : line + len;
    if (value < line + len && *value == ' ')
        value++;
    value_len = (size_t)(line + len - value);
    if (field_is(line, name_len, "data")) {
        if (m->has_data)
            rc = sw_buf_append(&m->data, "\n", 1);
        if (rc == 0)
            rc = sw_buf_append(&m->data, value, value_len);
        if (rc == SW_ETOO_LARGE)
            fprintf(stderr, "swarm: a message from the daemon is larger than %zu MiB\n",
                    m->data.max >> 20);
        m->has_data = 1;
    } else if (field_is(line, name_len, "id")) {
        m->has_id = parse_seq(value, value_len, &m->id) == 0;
    } else if (field_is(line, name_len, "event")) {
        snprintf(m->event, sizeof m->event, "%.*s", (int)value_len, value);
    }
    return rc;
}

static int follow_line_cb(void *arg, const char *line, size_t len)
{
    struct follow_msg *m = arg;
    int rc = follow_line(m, line, len);

    if (rc < 0)
        m->failed = rc;
    return rc;
}

int sw_follow_run(struct sw_follow *f)
{
    struct follow_msg m = {.f = f};
    struct sw_stream_source source = {NULL, NULL};
    long pause_ms = FOLLOW_PAUSE_MIN_MS;
    struct sw_buf path;
    char header[64];
    int rc;

    sw_buf_init(&m.data, SW_CLIENT_MAX_REPLY);
    sw_buf_init(&path, EVENTS_PATH_MAX);
    source.header = header;
    source.line_cb = follow_line_cb;
    source.arg = &m;
    for (;;) {
        msg_reset(&m);
        m.seen = 0;
        sw_buf_reset(&path);
        if ((rc = f->path_cb(f, &path)) != 0)
            break;
        snprintf(header, sizeof header, "Last-Event-ID: %lld", (long long)f->last);
        source.path = path.data;
        rc = sw_stream_run(&f->cli->endpoint, &source, 1, 1);
        if (m.failed || rc == SW_ENOMEM || (f->limit && f->count >= f->limit))
            break;
        if (rc && rc != SW_EIO && !m.ready)
            break; /* refused at once: the request is wrong, not the connection */
        pause_ms = m.seen
                       ? FOLLOW_PAUSE_MIN_MS
                       : (pause_ms * 2 > FOLLOW_PAUSE_MAX_MS ? FOLLOW_PAUSE_MAX_MS : pause_ms * 2);
        fprintf(stderr, "swarm: the stream %s; resuming after %lld in %.1fs\n",
                rc ? "broke" : "ended", (long long)f->last, (double)pause_ms / 1000);
        sw_cli_sleep_ms(pause_ms);
    }
    sw_buf_free(&path);
    sw_buf_free(&m.data);
    return rc;
}

int sw_events_last(struct sw_client *client, const char *path, int64_t *last)
{
    json_t *reply = NULL;
    int rc = sw_client_call(client, "GET", path, NULL, 0, &reply);
    const json_t *value = json_object_get(reply, "last");

    if (rc == 0 && !json_is_integer(value)) {
        fprintf(stderr, "swarm: the daemon's reply to GET %s has no \"last\"\n", path);
        rc = SW_EBAD_JSON;
    }
    if (rc == 0)
        *last = json_integer_value(value);
    json_decref(reply);
    return rc;
}

void sw_follow_row(const char *const *cells, const int *widths, int ncells)
{
    for (int i = 0; i + 1 < ncells; i++)
        printf("%-*s  ", widths[i], cells[i] ? cells[i] : "-");
    printf("%s\n", cells[ncells - 1] ? cells[ncells - 1] : "-");
    fflush(stdout);
}

/* ---- swarm events */

static const char *const events_header[] = {"SEQ", "TIME", "TYPE", "SOURCE", "SUBJECT", "DATA"};
static const int events_widths[] = {6, 24, 24, 16, 20, 0}; /* -f: cells are padded to these */
#define EVENTS_COLS ((int)(sizeof events_header / sizeof events_header[0]))

/* The cells of an event's row; data_text holds the cut DATA. */
static void event_cells(const json_t *ev, const char **cells, char *data_text, size_t size)
{
    static const char *const keys[] = {"id", "time", "type", "source", "subject"};

    for (int i = 0; i < EVENTS_COLS - 1; i++)
        cells[i] = json_string_value(json_object_get(ev, keys[i]));
    sw_output_text(json_object_get(ev, "data"), data_text, size);
    cells[EVENTS_COLS - 1] = data_text;
}

/* Builds /v1/events or /v1/events/stream with the filters, after= and limit=. */
static int events_path(struct sw_args *a, const char *base, int64_t after, int64_t limit,
                       struct sw_buf *path)
{
    static const char *const filters[] = {"type", "source", "subject"};
    char flag[16], number[24];
    int rc = sw_buf_appendstr(path, base);

    for (size_t i = 0; rc == 0 && i < sizeof filters / sizeof filters[0]; i++) {
        snprintf(flag, sizeof flag, "--%s", filters[i]);
        rc = sw_cli_query_add(path, filters[i], sw_args_get(a, flag));
    }
    snprintf(number, sizeof number, "%lld", (long long)after);
    if (rc == 0 && after >= 0)
        rc = sw_cli_query_add(path, "after", number);
    snprintf(number, sizeof number, "%lld", (long long)limit);
    if (rc == 0 && limit > 0)
        rc = sw_cli_query_add(path, "limit", number);
    return rc == SW_ETOO_LARGE ? sw_args_fail(a, "the filters are too long") : rc;
}

static int events_print_page(const struct sw_cli *cli, const json_t *page)
{
    const json_t *events = json_object_get(page, "events"), *ev;
    char data_text[EVENTS_DATA_WIDTH];
    const char *cells[EVENTS_COLS];
    struct sw_table table;
    size_t i;
    int rc = 0;

    if (!json_is_array(events)) {
        fprintf(stderr, "swarm: the daemon's page of events has no \"events\" array\n");
        return SW_EBAD_JSON;
    }
    if (!cli->json)
        rc = sw_table_init(&table, events_header, EVENTS_COLS);
    json_array_foreach(events, i, ev)
    {
        if (rc)
            break;
        if (cli->json) {
            sw_output_json_compact(stdout, ev);
            fputc('\n', stdout);
            continue;
        }
        event_cells(ev, cells, data_text, sizeof data_text);
        rc = sw_table_add(&table, cells);
    }
    if (!cli->json && rc == 0)
        sw_table_print(&table, stdout);
    if (!cli->json)
        sw_table_free(&table);
    return rc;
}

static int events_page(struct sw_cli *cli, struct sw_client *client, int64_t after, int64_t limit)
{
    json_t *page = NULL;
    struct sw_buf path;
    int rc;

    sw_buf_init(&path, EVENTS_PATH_MAX);
    rc = events_path(&cli->args, "/v1/events", after, limit, &path);
    if (rc == 0)
        rc = sw_client_call(client, "GET", path.data, NULL, 0, &page);
    if (rc == 0)
        rc = events_print_page(cli, page);
    json_int_t next = json_integer_value(json_object_get(page, "next_after"));
    json_int_t last = json_integer_value(json_object_get(page, "last"));
    const json_t *gap = json_object_get(json_object_get(page, "gap"), "first_available");
    fflush(stdout);
    if (rc == 0 && gap)
        fprintf(stderr, "swarm: gap: the events before %" JSON_INTEGER_FORMAT " were pruned\n",
                json_integer_value(gap));
    if (rc == 0 && !cli->json && next < last)
        fprintf(stderr, "(more events: add --after %lld)\n", (long long)next);
    json_decref(page);
    sw_buf_free(&path);
    return rc;
}

static int events_stream_path_cb(struct sw_follow *f, struct sw_buf *path)
{
    return events_path(&f->cli->args, "/v1/events/stream", f->last, 0, path);
}

static void events_ready_cb(struct sw_follow *f)
{
    if (!f->cli->json)
        sw_follow_row(events_header, events_widths, EVENTS_COLS);
}

static int events_message_cb(struct sw_follow *f, const json_t *ev)
{
    char data_text[EVENTS_DATA_WIDTH];
    const char *cells[EVENTS_COLS];

    event_cells(ev, cells, data_text, sizeof data_text);
    sw_follow_row(cells, events_widths, EVENTS_COLS);
    return 0;
}

/* Follows from --after, else from the last event committed now: the first request
 * also checks the filters and that the daemon answers. */
static int events_follow(struct sw_cli *cli, struct sw_client *client, int64_t after, int64_t limit)
{
    struct sw_follow f = {.cli = cli,
                          .noun = "events",
                          .path_cb = events_stream_path_cb,
                          .message_cb = events_message_cb,
                          .ready_cb = events_ready_cb,
                          .last = after,
                          .limit = limit};
    struct sw_buf path;
    int64_t now = 0;
    int rc;

    sw_buf_init(&path, EVENTS_PATH_MAX);
    rc = events_path(&cli->args, "/v1/events", after, 1, &path);
    if (rc == 0)
        rc = sw_events_last(client, path.data, &now);
    sw_buf_free(&path);
    if (rc)
        return rc;
    if (after < 0)
        f.last = now;
    return sw_follow_run(&f);
}

static int events_run(struct sw_cli *cli)
{
    int follow = sw_args_has(&cli->args, "-f") || sw_args_has(&cli->args, "--follow");
    struct sw_client *client;
    int64_t after = -1, limit = 0;
    int rc = sw_args_int(&cli->args, "--after", 0, INT64_MAX, &after);

    if (rc == 0)
        rc = sw_args_int(&cli->args, "--limit", 1, INT32_MAX, &limit);
    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    if (rc == 0 && follow)
        rc = events_follow(cli, client, after, limit);
    else if (rc == 0)
        rc = events_page(cli, client, after, limit);
    return sw_cli_exit(cli, rc);
}

static const struct sw_flag events_flags[] = {
    {"-f", NULL, "follow: print events as they are committed, until Ctrl-C"},
    {"--follow", NULL, "the same as -f"},
    {"--type", "PATTERN", "only events of this type; a prefix ends with * (swarmd.task.*)"},
    {"--source", "PATTERN", "only events from this source (/swarms/main, /agents/*)"},
    {"--subject", "PATTERN", "only events about this subject (a task id, NS/KEY)"},
    {"--after", "SEQ", "start after event SEQ (default: the oldest kept; with -f, now)"},
    {"--limit", "N", "at most N events (a page; with -f, exit after N)"},
    {NULL, NULL, NULL},
};

const struct sw_command sw_events_commands[] = {
    {{"events", "", 0, 0, events_flags},
     "list the events of the daemon's log, or follow them with -f",
     "A table of SEQ, TIME, TYPE, SOURCE, SUBJECT and DATA (cut to fit); with -o json,\n"
     "each event as one line of JSON (a CloudEvent). With -f, a dropped connection is\n"
     "resumed after the last event printed; events pruned meanwhile are reported on\n"
     "stderr.\n",
     events_run},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
