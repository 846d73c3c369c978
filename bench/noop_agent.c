/* SPDX-License-Identifier: MIT
 * noop_agent.c - the smallest stdio agent, for benchmarks: reads JSON-RPC 2.0 lines on
 * stdin and answers every "task.run" request at once with
 *     {"jsonrpc":"2.0","id":<the request's id, byte for byte>,"result":{}}
 * ("ping" gets "pong", other requests -32601, notifications and answers are ignored).
 * No JSON library: a small scanner walks the top level of each object (strings with
 * their escapes, nested objects and arrays skipped whole), so an "id" or "method" inside
 * params is never mistaken for the request's own. The answers to all the lines of one
 * read() go out in one write().
 *
 * With NOOP_LATENCY_DIR set, it also writes, per task.run whose line carries the
 * benchmark's marker "bench_t0_us":<CLOCK_REALTIME µs at submit> (agent_bench.c puts it
 * in the payload), one line "<now_us - t0_us>\n" to DIR/<SWARM_AGENT_NAME>.<pid>.lat:
 * the submit → agent-received latency, in µs.
 *
 * Build: cc -O2 -o noop_agent noop_agent.c   (bench/Makefile does it). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int lat_fd = -1;

/* Skips whitespace; returns the new position. */
static size_t ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

/* s[i] is '"': returns the position after the closing quote, or 0 if unterminated. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return 0;
}

/* Skips one JSON value starting at s[i]; returns the position after it, or 0. */
static size_t skip_value(const char *s, size_t i, size_t n)
{
    if (i >= n)
        return 0;
    if (s[i] == '"')
        return skip_string(s, i, n);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, i, n);
                if (i == 0)
                    return 0;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return i + 1;
            }
            i++;
        }
        return 0;
    }
    /* number, true, false, null */
    size_t start = i;
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
           s[i] != '\r' && s[i] != '\n')
        i++;
    return i > start ? i : 0;
}

struct span {
    const char *p;
    size_t len;
};

/* Finds the top-level members "id" and "method" of the object in line. Returns 0 if
 * the line is a well-formed enough object, -1 otherwise. A key written with escapes
 * ("\u0069d") is not recognised: swarmd never writes one. */
static int scan(const char *s, size_t n, struct span *id, struct span *method)
{
    size_t i = ws(s, 0, n);
    id->p = method->p = NULL;
    id->len = method->len = 0;
    if (i >= n || s[i] != '{')
        return -1;
    i = ws(s, i + 1, n);
    if (i < n && s[i] == '}')
        return 0;
    for (;;) {
        if (i >= n || s[i] != '"')
            return -1;
        size_t kend = skip_string(s, i, n);
        if (kend == 0)
            return -1;
        const char *key = s + i + 1;
        size_t klen = kend - i - 2;
        i = ws(s, kend, n);
        if (i >= n || s[i] != ':')
            return -1;
        i = ws(s, i + 1, n);
        size_t vend = skip_value(s, i, n);
        if (vend == 0)
            return -1;
        if (klen == 2 && memcmp(key, "id", 2) == 0) {
            id->p = s + i;
            id->len = vend - i;
        } else if (klen == 6 && memcmp(key, "method", 6) == 0) {
            method->p = s + i;
            method->len = vend - i;
        }
        i = ws(s, vend, n);
        if (i < n && s[i] == ',') {
            i = ws(s, i + 1, n);
            continue;
        }
        return i < n && s[i] == '}' ? 0 : -1;
    }
}

static char *out;
static size_t out_len, out_cap;

static void emit(const char *a, size_t alen, const char *b, size_t blen, const char *c)
{
    size_t clen = strlen(c), need = out_len + alen + blen + clen;
    if (need > out_cap) {
        out_cap = need * 2;
        out = realloc(out, out_cap);
        if (out == NULL)
            _exit(1);
    }
    memcpy(out + out_len, a, alen);
    memcpy(out + out_len + alen, b, blen);
    memcpy(out + out_len + alen + blen, c, clen);
    out_len = need;
}

static void flush_out(void)
{
    size_t off = 0;
    while (off < out_len) {
        ssize_t w = write(1, out + off, out_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(0); /* swarmd went away */
        off += (size_t)w;
    }
    out_len = 0;
}

static void note_latency(const char *line, size_t n)
{
    static const char marker[] = "\"bench_t0_us\":";
    const char *m = memmem(line, n, marker, sizeof marker - 1);
    if (m == NULL)
        return;
    long long t0 = strtoll(m + sizeof marker - 1, NULL, 10);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%lld\n", now - t0);
    if (write(lat_fd, buf, (size_t)len) != len)
        lat_fd = -1;
}

static void handle(const char *line, size_t n)
{
    struct span id = {NULL, 0}, method = {NULL, 0};
    if (scan(line, n, &id, &method) || method.p == NULL)
        return; /* garbage, or an answer to a call of ours (we make none) */
    if (id.p == NULL || (id.len == 4 && memcmp(id.p, "null", 4) == 0))
        return; /* a notification (task.cancel): nothing to answer */
    if (method.len == 10 && memcmp(method.p, "\"task.run\"", 10) == 0) {
        if (lat_fd >= 0)
            note_latency(line, n);
        emit("{\"jsonrpc\":\"2.0\",\"id\":", 22, id.p, id.len, ",\"result\":{}}\n");
    } else if (method.len == 6 && memcmp(method.p, "\"ping\"", 6) == 0) {
        emit("{\"jsonrpc\":\"2.0\",\"id\":", 22, id.p, id.len, ",\"result\":\"pong\"}\n");
    } else {
        emit("{\"jsonrpc\":\"2.0\",\"id\":", 22, id.p, id.len,
             ",\"error\":{\"code\":-32601,\"message\":\"method not found\"}}\n");
    }
}

int main(void)
{
    const char *dir = getenv("NOOP_LATENCY_DIR");
    if (dir && *dir) {
        char path[4096];
        const char *name = getenv("SWARM_AGENT_NAME");
        snprintf(path, sizeof path, "%s/%s.%d.lat", dir, name ? name : "agent", (int)getpid());
        lat_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return 1;
    for (;;) {
        if (used == cap) { /* a line longer than the buffer: grow */
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (grown == NULL)
                return 1;
            buf = grown;
        }
        ssize_t r = read(0, buf + used, cap - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        used += (size_t)r;
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', used - start);
            if (nl == NULL)
                break;
            handle(buf + start, (size_t)(nl - (buf + start)));
            start = (size_t)(nl - buf) + 1;
        }
        memmove(buf, buf + start, used - start);
        used -= start;
        flush_out();
    }
    if (used)
        handle(buf, used);
    flush_out();
    return 0;
}
