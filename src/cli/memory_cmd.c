/* SPDX-License-Identifier: MIT
 * memory_cmd.c - "swarm memory": the daemon's shared memory of JSON values under a
 * namespace and a key (/v1/memory/{ns}/{key...}). get prints a value, set writes one
 * (inline JSON, a file or stdin; with a TTL, labels, and the conditions of a
 * compare-and-swap), rm deletes, history lists a key's past writes, ls lists the
 * namespaces or one namespace's keys page by page, and watch follows the changes of a
 * namespace as they are committed (through the follower of events_cmd.c). A write whose
 * condition fails shows the current version of the key. */
#include "cli/memory_cmd.h"

#include "cli/events_cmd.h"
#include "cli/output.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/error.h"

#include <string.h>

#define MEM_PATH_MAX    16384
#define MEM_VALUE_WIDTH 64   /* bytes of the VALUE column, "..." included */
#define MEM_PAGE_MAX    1000 /* keys asked for in one page */

/* Appends "/v1/memory/NS" and, when key is not NULL, "/KEY" with each segment of the
 * key percent-encoded and its '/' kept. */
static int mem_path_add(struct sw_buf *path, const char *ns, const char *key)
{
    char *copy = key ? sw_strdup(key) : NULL;
    int rc = sw_buf_appendstr(path, "/v1/memory/");

    if (rc == 0)
        rc = sw_client_escape(path, ns);
    if (key && copy == NULL)
        rc = SW_ENOMEM;
    for (char *segment = copy, *slash; rc == 0 && segment; segment = slash ? slash + 1 : NULL) {
        slash = strchr(segment, '/');
        if (slash)
            *slash = '\0';
        rc = sw_buf_append(path, "/", 1);
        if (rc == 0)
            rc = sw_client_escape(path, segment);
    }
    sw_free(copy);
    return rc;
}

/* Checks the NS (and KEY) operands and writes the path of the first into path. */
static int mem_path(struct sw_args *a, int with_key, struct sw_buf *path)
{
    const char *ns = a->operands[0], *key = with_key ? a->operands[1] : NULL;
    int rc;

    if (ns[0] == '\0')
        return sw_args_fail(a, "NS must not be empty");
    if (key && key[0] == '\0')
        return sw_args_fail(a, "KEY must not be empty");
    rc = mem_path_add(path, ns, key);
    return rc == SW_ETOO_LARGE ? sw_args_fail(a, "NS and KEY are too long") : rc;
}

/* Reads a time of the memory API: wall-clock milliseconds, or an RFC 3339 string.
 * 0 or SW_EINVAL (absent, or neither). */
static int mem_time(const json_t *v, int64_t *wall_ms)
{
    if (json_is_integer(v)) {
        *wall_ms = json_integer_value(v);
        return 0;
    }
    return sw_output_parse_time(json_string_value(v), wall_ms);
}

/* Writes how long ago the time v was: "3s", "5m" (see sw_output_age); "-" for none. */
static void mem_age(const json_t *v, int64_t now_ms, char *out, size_t size)
{
    char text[32];
    int64_t then_ms;
    json_t *rfc3339 = NULL;

    if (mem_time(v, &then_ms) == 0) {
        sw_clock_format_rfc3339(then_ms, text, sizeof text);
        rfc3339 = json_string(text);
    }
    sw_output_age(rfc3339, now_ms, out, size);
    json_decref(rfc3339);
}

/* Writes how long until an entry's expire_at: "25s", "5m", "2h", "3d"; "-" for none. */
static void mem_ttl(const json_t *entry, int64_t now_ms, char *out, size_t size)
{
    int64_t expire_ms, left_ms, unit;

    if (mem_time(json_object_get(entry, "expire_at"), &expire_ms)) {
        snprintf(out, size, "-");
        return;
    }
    left_ms = expire_ms > now_ms ? expire_ms - now_ms : 0;
    unit = left_ms >= 86400000  ? 86400000
           : left_ms >= 3600000 ? 3600000
           : left_ms >= 60000   ? 60000
                                : 1000;
    sw_duration_format((left_ms + unit - 1) / unit * unit, out, size);
}

/* After a refused request: when it was a write whose condition failed (409 conflict),
 * says which version the key is at now. */
static void mem_show_current(struct sw_client *client)
{
    json_t *reply = sw_client_last_reply(client);
    const char *code = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
    const json_t *current = json_object_get(reply, "current");
    long long version = json_integer_value(json_object_get(current, "version"));
    long long revision = json_integer_value(json_object_get(current, "revision"));

    if (code && strcmp(code, "conflict") == 0 && json_is_object(current))
        fprintf(stderr, "swarm: current version: %lld (revision %lld)\n", version, revision);
    else if (code && strcmp(code, "conflict") == 0)
        fprintf(stderr, "swarm: current version: none (the key does not exist)\n");
    json_decref(reply);
}

/* Sends method to NS/KEY (the first two operands) with body; *reply is the daemon's. */
static int mem_call(struct sw_cli *cli, const char *method, const char *query, const json_t *body,
                    json_t **reply)
{
    struct sw_client *client = NULL;
    struct sw_buf path;
    int rc;

    sw_buf_init(&path, MEM_PATH_MAX);
    rc = mem_path(&cli->args, 1, &path);
    if (rc == 0)
        rc = sw_buf_appendstr(&path, query);
    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    if (rc == 0 && sw_args_has(&cli->args, "--if-version")) {
        char header[48];
        snprintf(header, sizeof header, "If-Match: %s", sw_args_get(&cli->args, "--if-version"));
        rc = sw_client_add_header(client, header);
    }
    if (rc == 0 && sw_args_has(&cli->args, "--create-only"))
        rc = sw_client_add_header(client, "If-None-Match: *");
    if (rc == 0 && (rc = sw_client_call(client, method, path.data, body, 0, reply)) != 0)
        mem_show_current(client);
    sw_buf_free(&path);
    return rc;
}

/* ---- history */

static int mem_history_table(const json_t *history)
{
    static const char *const header[] = {"VERSION", "REVISION", "OP", "UPDATED", "VALUE"};
    int64_t now_ms = sw_clock_wall_ms();
    struct sw_table table;
    const json_t *h;
    size_t i;
    int rc = sw_table_init(&table, header, (int)(sizeof header / sizeof header[0]));

    json_array_foreach(history, i, h)
    {
        char version[24], revision[24], updated[32], value[MEM_VALUE_WIDTH];
        if (rc)
            break;
        sw_output_text(json_object_get(h, "version"), version, sizeof version);
        sw_output_text(json_object_get(h, "revision"), revision, sizeof revision);
        mem_age(json_object_get(h, "updated_at"), now_ms, updated, sizeof updated);
        sw_output_text(json_object_get(h, "value"), value, sizeof value);
        const char *row[] = {version, revision, json_string_value(json_object_get(h, "op")),
                             updated, value};
        rc = sw_table_add(&table, row);
    }
    if (rc == 0)
        sw_table_print(&table, stdout);
    sw_table_free(&table);
    return rc;
}

static int mem_history(struct sw_cli *cli)
{
    json_t *reply = NULL;
    int rc = mem_call(cli, "GET", "?history=1", NULL, &reply);
    const json_t *history = json_object_get(reply, "history");

    if (rc == 0 && !json_is_array(history)) {
        fprintf(stderr, "swarm: the daemon's reply has no \"history\" array\n");
        rc = SW_EBAD_JSON;
    }
    if (rc == 0 && cli->json)
        sw_output_json(stdout, reply);
    else if (rc == 0)
        rc = mem_history_table(history);
    json_decref(reply);
    return sw_cli_exit(cli, rc);
}

/* ---- get, set, rm */

static int mem_get(struct sw_cli *cli)
{
    json_t *entry = NULL;
    int rc;

    if (sw_args_has(&cli->args, "--history"))
        return mem_history(cli);
    rc = mem_call(cli, "GET", "", NULL, &entry);
    if (rc == 0 && !cli->json && json_object_get(entry, "value") == NULL) {
        fprintf(stderr, "swarm: the daemon's reply has no \"value\"\n");
        rc = SW_EBAD_JSON;
    }
    if (rc == 0)
        sw_output_json(stdout, cli->json ? entry : json_object_get(entry, "value"));
    json_decref(entry);
    return sw_cli_exit(cli, rc);
}

/* Builds the PUT body: the value, ttl_ms and labels. */
static int set_body(struct sw_args *a, json_t **out)
{
    json_t *body = json_object(), *value = NULL;
    int64_t ttl_ms = 0, version = 0;
    int rc = body ? 0 : SW_ENOMEM;

    if (rc == 0)
        rc = sw_args_int(a, "--if-version", 0, INT64_MAX, &version);
    if (rc == 0 && sw_args_has(a, "--if-version") && sw_args_has(a, "--create-only"))
        rc = sw_args_fail(a, "--if-version and --create-only do not go together "
                             "(--if-version 0 is the same as --create-only)");
    if (rc == 0)
        rc = sw_args_duration(a, "--ttl", &ttl_ms);
    if (rc == 0 && sw_args_has(a, "--ttl") && ttl_ms <= 0)
        rc = sw_args_fail(a, "--ttl: must be more than 0");
    if (rc == 0)
        rc = sw_cli_json_arg(a, "VALUE", a->operands[2], &value);
    if (rc == 0 && json_object_set_new(body, "value", value))
        rc = SW_ENOMEM;
    if (rc == 0 && ttl_ms > 0 && json_object_set_new(body, "ttl_ms", json_integer(ttl_ms)))
        rc = SW_ENOMEM;
    if (rc == 0)
        rc = sw_cli_labels(a, body);
    if (rc)
        json_decref(body);
    else
        *out = body;
    return rc;
}

static int mem_set(struct sw_cli *cli)
{
    json_t *body = NULL, *entry = NULL;
    int rc = set_body(&cli->args, &body);

    if (rc == 0)
        rc = mem_call(cli, "PUT", "", body, &entry);
    if (rc == 0 && cli->json)
        sw_output_json(stdout, entry);
    else if (rc == 0)
        printf("%s/%s: version %" JSON_INTEGER_FORMAT ", revision %" JSON_INTEGER_FORMAT "\n",
               cli->args.operands[0], cli->args.operands[1],
               json_integer_value(json_object_get(entry, "version")),
               json_integer_value(json_object_get(entry, "revision")));
    json_decref(body);
    json_decref(entry);
    return sw_cli_exit(cli, rc);
}

static int mem_rm(struct sw_cli *cli)
{
    json_t *reply = NULL;
    int64_t version = 0;
    int rc = sw_args_int(&cli->args, "--if-version", 0, INT64_MAX, &version);

    if (rc == 0)
        rc = mem_call(cli, "DELETE", "", NULL, &reply);
    if (rc == 0 && cli->json)
        sw_output_json(stdout, reply);
    else if (rc == 0)
        printf("%s/%s deleted (revision %" JSON_INTEGER_FORMAT ")\n", cli->args.operands[0],
               cli->args.operands[1], json_integer_value(json_object_get(reply, "revision")));
    json_decref(reply);
    return sw_cli_exit(cli, rc);
}

/* ---- ls */

static int mem_ls_spaces(struct sw_cli *cli, struct sw_client *client)
{
    static const char *const header[] = {"NAMESPACE", "KEYS"};
    json_t *reply = NULL;
    const json_t *spaces, *ns;
    struct sw_table table = {0};
    size_t i;
    int rc = sw_client_call(client, "GET", "/v1/memory", NULL, 0, &reply);

    spaces = json_object_get(reply, "namespaces");
    if (rc == 0 && !json_is_array(spaces)) {
        fprintf(stderr, "swarm: the daemon's reply has no \"namespaces\" array\n");
        rc = SW_EBAD_JSON;
    }
    if (rc == 0 && cli->json) {
        sw_output_json(stdout, reply);
        json_decref(reply);
        return 0;
    }
    if (rc == 0)
        rc = sw_table_init(&table, header, 2);
    json_array_foreach(spaces, i, ns)
    {
        char keys[24];
        if (rc)
            break;
        sw_output_text(json_object_get(ns, "keys"), keys, sizeof keys);
        const char *row[] = {json_string_value(json_object_get(ns, "name")), keys};
        rc = sw_table_add(&table, row);
    }
    if (rc == 0)
        sw_table_print(&table, stdout);
    sw_table_free(&table);
    json_decref(reply);
    return rc;
}

/* The path of one page of NS's keys: ?prefix=&limit=&cursor=. */
static int ls_page_path(struct sw_args *a, int64_t limit, const char *cursor, struct sw_buf *path)
{
    char number[24];
    int rc;

    snprintf(number, sizeof number, "%lld", (long long)limit);
    sw_buf_reset(path);
    rc = mem_path(a, 0, path);
    if (rc == 0)
        rc = sw_cli_query_add(path, "prefix", sw_args_get(a, "--prefix"));
    if (rc == 0)
        rc = sw_cli_query_add(path, "limit", number);
    if (rc == 0)
        rc = sw_cli_query_add(path, "cursor", cursor);
    return rc == SW_ETOO_LARGE ? sw_args_fail(a, "--prefix is too long") : rc;
}

/* Fetches pages into items until limit items (0 = all) or the last page; *cursor is
 * where the next page would start (caller frees; NULL at the end). */
static int ls_fetch(struct sw_cli *cli, struct sw_client *client, int64_t limit, json_t *items,
                    char **cursor)
{
    struct sw_buf path;
    json_t *page = NULL;
    const char *next;
    int rc = 0;

    sw_buf_init(&path, MEM_PATH_MAX);
    do {
        int64_t want = limit ? limit - (int64_t)json_array_size(items) : MEM_PAGE_MAX;
        rc = ls_page_path(&cli->args, want < MEM_PAGE_MAX ? want : MEM_PAGE_MAX, *cursor, &path);
        json_decref(page);
        page = NULL;
        if (rc == 0)
            rc = sw_client_call(client, "GET", path.data, NULL, 0, &page);
        if (rc == 0 && json_array_extend(items, json_object_get(page, "items"))) {
            fprintf(stderr, "swarm: a page of keys from the daemon has no \"items\" array\n");
            rc = SW_EBAD_JSON;
        }
        next = json_string_value(json_object_get(page, "next_cursor"));
        if (rc == 0 && next && *cursor && strcmp(next, *cursor) == 0) {
            fprintf(stderr, "swarm: the daemon returned the same cursor twice: %s\n", next);
            rc = SW_EBAD_JSON;
        }
        sw_free(*cursor);
        *cursor = next ? sw_strdup(next) : NULL;
        if (next && *cursor == NULL)
            rc = SW_ENOMEM;
    } while (rc == 0 && *cursor && (limit == 0 || (int64_t)json_array_size(items) < limit));
    json_decref(page);
    sw_buf_free(&path);
    return rc;
}

static int ls_keys_table(const json_t *items)
{
    static const char *const header[] = {"KEY", "VERSION", "REVISION", "UPDATED", "TTL", "VALUE"};
    int64_t now_ms = sw_clock_wall_ms();
    struct sw_table table;
    const json_t *e;
    size_t i;
    int rc = sw_table_init(&table, header, (int)(sizeof header / sizeof header[0]));

    json_array_foreach(items, i, e)
    {
        char version[24], revision[24], updated[32], ttl[32], value[MEM_VALUE_WIDTH];
        if (rc)
            break;
        sw_output_text(json_object_get(e, "version"), version, sizeof version);
        sw_output_text(json_object_get(e, "revision"), revision, sizeof revision);
        mem_age(json_object_get(e, "updated_at"), now_ms, updated, sizeof updated);
        mem_ttl(e, now_ms, ttl, sizeof ttl);
        sw_output_text(json_object_get(e, "value"), value, sizeof value);
        const char *row[] = {
            json_string_value(json_object_get(e, "key")), version, revision, updated, ttl, value};
        rc = sw_table_add(&table, row);
    }
    if (rc == 0)
        sw_table_print(&table, stdout);
    sw_table_free(&table);
    return rc;
}

static int mem_ls_keys(struct sw_cli *cli, struct sw_client *client, int64_t limit)
{
    json_t *items = json_array(), *merged;
    char *cursor = NULL;
    int rc = items ? ls_fetch(cli, client, limit, items, &cursor) : SW_ENOMEM;

    if (rc == 0 && cli->json) {
        merged = json_pack("{s:s,s:O,s:s?}", "ns", cli->args.operands[0], "items", items,
                           "next_cursor", cursor);
        if (merged)
            sw_output_json(stdout, merged);
        rc = merged ? 0 : SW_ENOMEM;
        json_decref(merged);
    } else if (rc == 0) {
        rc = ls_keys_table(items);
        fflush(stdout);
        if (rc == 0 && cursor)
            fprintf(stderr, "(more keys: raise --limit to list them)\n");
    }
    sw_free(cursor);
    json_decref(items);
    return rc;
}

static int mem_ls(struct sw_cli *cli)
{
    struct sw_client *client;
    int64_t limit = 0;
    struct sw_buf check;
    int rc = sw_args_int(&cli->args, "--limit", 1, INT32_MAX, &limit);

    sw_buf_init(&check, MEM_PATH_MAX);
    if (rc == 0 && cli->args.noperands == 0 &&
        (sw_args_has(&cli->args, "--prefix") || sw_args_has(&cli->args, "--limit")))
        rc = sw_args_fail(&cli->args, "--prefix and --limit list the keys of a namespace: "
                                      "give NS");
    if (rc == 0 && cli->args.noperands > 0)
        rc = ls_page_path(&cli->args, 1, NULL, &check); /* usage errors first */
    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    if (rc == 0 && cli->args.noperands == 0)
        rc = mem_ls_spaces(cli, client);
    else if (rc == 0)
        rc = mem_ls_keys(cli, client, limit);
    sw_buf_free(&check);
    return sw_cli_exit(cli, rc);
}

/* ---- watch */

static const char *const watch_header[] = {"REVISION", "OP", "KEY", "VERSION", "VALUE"};
static const int watch_widths[] = {8, 6, 24, 7, 0};
#define WATCH_COLS ((int)(sizeof watch_header / sizeof watch_header[0]))

static int watch_path_cb(struct sw_follow *f, struct sw_buf *path)
{
    struct sw_args *a = &f->cli->args;
    char number[24];
    int rc = mem_path(a, 0, path);

    snprintf(number, sizeof number, "%lld", (long long)f->last);
    if (rc == 0)
        rc = sw_cli_query_add(path, "watch", "1");
    if (rc == 0)
        rc = sw_cli_query_add(path, "prefix", sw_args_get(a, "--prefix"));
    if (rc == 0)
        rc = sw_cli_query_add(path, "after_revision", number);
    return rc == SW_ETOO_LARGE ? sw_args_fail(a, "--prefix is too long") : rc;
}

static void watch_ready_cb(struct sw_follow *f)
{
    if (!f->cli->json)
        sw_follow_row(watch_header, watch_widths, WATCH_COLS);
}

static int watch_message_cb(struct sw_follow *f, const json_t *change)
{
    char revision[24], version[24], value[MEM_VALUE_WIDTH];

    sw_output_text(json_object_get(change, "revision"), revision, sizeof revision);
    sw_output_text(json_object_get(change, "version"), version, sizeof version);
    sw_output_text(json_object_get(change, "value"), value, sizeof value);
    const char *row[] = {revision, json_string_value(json_object_get(change, "op")),
                         json_string_value(json_object_get(change, "key")), version, value};
    sw_follow_row(row, watch_widths, WATCH_COLS);
    return 0;
}

/* Follows NS from --after-revision, else from the last revision committed now. */
static int mem_watch(struct sw_cli *cli)
{
    struct sw_follow f = {.cli = cli,
                          .noun = "changes",
                          .path_cb = watch_path_cb,
                          .message_cb = watch_message_cb,
                          .ready_cb = watch_ready_cb,
                          .last = -1};
    struct sw_client *client;
    struct sw_buf check;
    int rc = sw_args_int(&cli->args, "--after-revision", 0, INT64_MAX, &f.last);

    sw_buf_init(&check, MEM_PATH_MAX);
    if (rc == 0)
        rc = sw_args_int(&cli->args, "--limit", 1, INT32_MAX, &f.limit);
    if (rc == 0)
        rc = watch_path_cb(&f, &check); /* usage errors first */
    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    if (rc == 0 && f.last < 0)
        rc = sw_events_last(client, "/v1/events?limit=1", &f.last);
    if (rc == 0)
        rc = sw_follow_run(&f);
    sw_buf_free(&check);
    return sw_cli_exit(cli, rc);
}

static const struct sw_flag get_flags[] = {
    {"--history", NULL, "list the key's past writes instead (as 'memory history')"},
    {NULL, NULL, NULL},
};

static const struct sw_flag set_flags[] = {
    {"--ttl", "DURATION", "delete the key this long after the write (30s, 5m, 1d)"},
    {"--if-version", "N", "write only if the key is at version N (0: does not exist)"},
    {"--create-only", NULL, "write only if the key does not exist"},
    {"--label", "K=V", "a label; repeat for more"},
    {NULL, NULL, NULL},
};

static const struct sw_flag rm_flags[] = {
    {"--if-version", "N", "delete only if the key is at version N"},
    {NULL, NULL, NULL},
};

static const struct sw_flag ls_flags[] = {
    {"--prefix", "P", "only the keys that start with P"},
    {"--limit", "N", "at most N keys (default: all)"},
    {NULL, NULL, NULL},
};

static const struct sw_flag watch_flags[] = {
    {"--prefix", "P", "only the keys that start with P"},
    {"--after-revision", "R", "start after revision R (default: now)"},
    {"--limit", "N", "exit after N changes"},
    {NULL, NULL, NULL},
};

const struct sw_command sw_memory_commands[] = {
    {{"memory get", "NS KEY", 2, 2, get_flags},
     "print the value of a key",
     "The value is printed as indented JSON; with -o json, the whole entry (version,\n"
     "revision, times, labels). A key that does not exist exits 4.\n",
     mem_get},
    {{"memory set", "NS KEY VALUE", 3, 3, set_flags},
     "write a value and print its new version and revision",
     "VALUE is JSON text, @FILE for the contents of a file, or - for standard input. A\n"
     "string needs its quotes: '\"text\"'. Put -- before a VALUE that starts with '-'.\n"
     "When a condition (--if-version, --create-only) does not hold, nothing is written,\n"
     "the key's current version is shown and the exit status is 5.\n",
     mem_set},
    {{"memory rm", "NS KEY", 2, 2, rm_flags}, "delete a key", NULL, mem_rm},
    {{"memory ls", "[NS]", 0, 1, ls_flags},
     "list the namespaces, or the keys of one",
     "Without NS: each namespace and its number of keys. With NS: KEY, VERSION,\n"
     "REVISION, UPDATED (age), TTL (time left) and VALUE (cut to fit), in key order.\n",
     mem_ls},
    {{"memory watch", "NS", 1, 1, watch_flags},
     "print the changes of a namespace as they are committed",
     "One line per change: REVISION, OP (put, delete, expire), KEY, VERSION, VALUE;\n"
     "with -o json, each change as one line of JSON. A dropped connection is resumed\n"
     "after the last revision printed. Runs until Ctrl-C.\n",
     mem_watch},
    {{"memory history", "NS KEY", 2, 2, NULL}, "list the past writes of a key", NULL, mem_history},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
