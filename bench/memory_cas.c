/* SPDX-License-Identifier: MIT
 * memory_cas.c - durable compare-and-swap writes: CLIENTS threads, one keep-alive
 * connection each, each rewriting its own key in a loop for SECONDS, one request in
 * flight per client, every write conditional on the version its previous write returned.
 * Prints the write rate and the latency percentiles (µs) as one RESULT line; any failed
 * or conflicting write is counted (there must be none: each client owns its key), and
 * the exit status is 1 if there was one. The keys must not exist yet (a fresh server, or a new
 * NAMESPACE).
 *
 *   swarmd ADDR = Unix socket: PUT /v1/memory/bench/<client> with If-None-Match: * for
 *          the first write, then If-Match: <version>; the new version is read from the
 *          reply's "version" field.
 *   redis  ADDR = HOST:PORT: EVALSHA of a Lua script that compares the key's "version"
 *          hash field, sets "value" and version + 1, or returns 0 (RESP over TCP).
 *   etcd   ADDR = HOST:PORT of the client URL: POST /v3/kv/txn through the JSON gateway,
 *          compare VERSION == v, put; "succeeded":true (the key's version is then v + 1).
 *
 * NAMESPACE (default "bench") names the keys: swarmd's namespace, the prefix of the Redis and
 * etcd keys ("bench:<client>", "bench/<client>"); another one allows a second run against
 * the same server.
 *
 * usage: memory_cas TARGET ADDR [CLIENTS] [SECONDS] [PAD_BYTES] [NAMESPACE] */
#define _GNU_SOURCE
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum target { T_SWARMD, T_REDIS, T_ETCD };

static const char *CAS_SCRIPT = "local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0') "
                                "if v ~= tonumber(ARGV[1]) then return 0 end "
                                "redis.call('HSET', KEYS[1], 'value', ARGV[2], 'version', v + 1) "
                                "return v + 1";

static enum target target;
static const char *addr;
static int pad_bytes = 100;
static const char *ns = "bench";
static double deadline_us;
static char script_sha[64];
static atomic_long errors, conflicts;

struct conn {
    int fd;
    size_t used; /* bytes in buf, from its start */
    char buf[65536];
};

struct client {
    pthread_t tid;
    int id;
    double *lat; /* µs per write, grown as needed */
    size_t n, cap;
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int dial(void)
{
    int fd;
    if (target == T_SWARMD) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", addr);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
            perror("connect");
            exit(1);
        }
        return fd;
    }
    char host[256];
    snprintf(host, sizeof host, "%s", addr);
    char *port = strrchr(host, ':');
    if (port == NULL) {
        fprintf(stderr, "address %s: want HOST:PORT\n", addr);
        exit(2);
    }
    *port++ = '\0';
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, port, &hints, &ai)) {
        fprintf(stderr, "cannot resolve %s\n", addr);
        exit(1);
    }
    fd = socket(ai->ai_family, ai->ai_socktype, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
        perror("connect");
        exit(1);
    }
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads more bytes into c->buf; -1 on EOF, error or a full buffer. */
static int fill(struct conn *c)
{
    if (c->used >= sizeof c->buf - 1)
        return -1;
    ssize_t n = read(c->fd, c->buf + c->used, sizeof c->buf - 1 - c->used);
    if (n <= 0)
        return -1;
    c->used += (size_t)n;
    c->buf[c->used] = '\0';
    return 0;
}

static void consume(struct conn *c, size_t len)
{
    memmove(c->buf, c->buf + len, c->used - len);
    c->used -= len;
    c->buf[c->used] = '\0';
}

/* Decodes a chunked body that starts at c->buf + start, in place, once all of it is in
 * the buffer: returns the body length and sets *end to the bytes the response used;
 * -1 (nothing changed) while more bytes are needed. */
static long dechunk(struct conn *c, size_t start, size_t *end)
{
    for (int pass = 0; pass < 2; pass++) { /* 0: is it complete? 1: decode */
        size_t in = start, out = start;
        for (;;) {
            char *eol = memmem(c->buf + in, c->used - in, "\r\n", 2);
            if (eol == NULL)
                return -1;
            size_t size = strtoul(c->buf + in, NULL, 16);
            in = (size_t)(eol + 2 - c->buf);
            if (size == 0) { /* no trailers expected: the final CRLF */
                if (c->used - in < 2)
                    return -1;
                if (pass == 1) {
                    *end = in + 2;
                    return (long)(out - start);
                }
                break;
            }
            if (c->used - in < size + 2)
                return -1;
            if (pass == 1)
                memmove(c->buf + out, c->buf + in, size);
            out += size;
            in += size + 2;
        }
    }
    return -1;
}

/* Reads one HTTP response: its status, body copied to body (NUL-terminated). */
static int http_response(struct conn *c, char *body, size_t body_size)
{
    char *hend;
    while ((hend = strstr(c->buf, "\r\n\r\n")) == NULL)
        if (fill(c))
            return -1;
    int status = atoi(c->buf + 9);
    size_t head = (size_t)(hend + 4 - c->buf);
    *hend = '\0';
    char *cl = strcasestr(c->buf, "content-length:");
    int chunked = strcasestr(c->buf, "transfer-encoding: chunked") != NULL;
    size_t len, end;
    if (chunked) {
        long n;
        while ((n = dechunk(c, head, &end)) < 0)
            if (fill(c))
                return -1;
        len = (size_t)n;
    } else {
        len = cl ? strtoul(cl + 15, NULL, 10) : 0;
        while (c->used < head + len)
            if (fill(c))
                return -1;
        end = head + len;
    }
    size_t copy = len < body_size - 1 ? len : body_size - 1;
    memcpy(body, c->buf + head, copy);
    body[copy] = '\0';
    consume(c, end);
    return status;
}

/* Reads one RESP reply line ("+OK", ":1", "-ERR ..", "$40" followed by its bulk). */
static int resp_reply(struct conn *c, char *out, size_t out_size)
{
    char *eol;
    while ((eol = strstr(c->buf, "\r\n")) == NULL)
        if (fill(c))
            return -1;
    size_t line = (size_t)(eol - c->buf);
    if (c->buf[0] == '$') {
        long blen = strtol(c->buf + 1, NULL, 10);
        if (blen < 0) {
            consume(c, line + 2);
            snprintf(out, out_size, "$-1");
            return 0;
        }
        while (c->used < line + 2 + (size_t)blen + 2)
            if (fill(c))
                return -1;
        snprintf(out, out_size, "%.*s", (int)blen, c->buf + line + 2);
        consume(c, line + 2 + (size_t)blen + 2);
        return 0;
    }
    snprintf(out, out_size, "%.*s", (int)line, c->buf);
    consume(c, line + 2);
    return 0;
}

/* Sends a RESP command of argc arguments and reads the reply into out. */
static int resp_call(struct conn *c, int argc, const char **argv, char *out, size_t out_size)
{
    char req[4096];
    int len = snprintf(req, sizeof req, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        len += snprintf(req + len, sizeof req - (size_t)len, "$%zu\r\n%s\r\n", strlen(argv[i]),
                        argv[i]);
    if (len >= (int)sizeof req || write_all(c->fd, req, (size_t)len))
        return -1;
    return resp_reply(c, out, out_size);
}

static void b64(const char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < len)
            v |= (uint32_t)(unsigned char)in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* One CAS write of value at *version; on success *version is the new version.
 * Returns 0, 1 on a conflict, -1 on any other failure. */
static int cas_swarmd(struct conn *c, int id, long *version, const char *value)
{
    char req[8192], body[8192], cond[64];
    if (*version == 0)
        snprintf(cond, sizeof cond, "If-None-Match: *");
    else
        snprintf(cond, sizeof cond, "If-Match: %ld", *version);
    int blen = snprintf(body, sizeof body, "{\"value\":%s}", value);
    int len = snprintf(req, sizeof req,
                       "PUT /v1/memory/%s/%d HTTP/1.1\r\nHost: x\r\n%s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                       ns, id, cond, blen, body);
    if (write_all(c->fd, req, (size_t)len))
        return -1;
    int status = http_response(c, body, sizeof body);
    if (status == 409)
        return 1;
    if (status != 200 && status != 201)
        return -1;
    const char *v = strstr(body, "\"version\":");
    if (v == NULL)
        return -1;
    long next = strtol(v + 10, NULL, 10);
    if (next != *version + 1)
        return -1;
    *version = next;
    return 0;
}

static int cas_redis(struct conn *c, int id, long *version, const char *value)
{
    char key[64], expect[32], reply[256];
    snprintf(key, sizeof key, "%s:%d", ns, id);
    snprintf(expect, sizeof expect, "%ld", *version);
    const char *argv[] = {"EVALSHA", script_sha, "1", key, expect, value};
    if (resp_call(c, 6, argv, reply, sizeof reply) || reply[0] != ':')
        return -1;
    long next = strtol(reply + 1, NULL, 10);
    if (next == 0)
        return 1;
    if (next != *version + 1)
        return -1;
    *version = next;
    return 0;
}

static int cas_etcd(struct conn *c, int id, long *version, const char *value)
{
    char key[64], key64[128], val64[4096], body[8192], req[12288], reply[8192];
    snprintf(key, sizeof key, "%s/%d", ns, id);
    b64(key, strlen(key), key64);
    b64(value, strlen(value), val64);
    int blen =
        snprintf(body, sizeof body,
                 "{\"compare\":[{\"key\":\"%s\",\"target\":\"VERSION\",\"version\":\"%ld\"}],"
                 "\"success\":[{\"requestPut\":{\"key\":\"%s\",\"value\":\"%s\"}}]}",
                 key64, *version, key64, val64);
    int len = snprintf(req, sizeof req,
                       "POST /v3/kv/txn HTTP/1.1\r\nHost: %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                       addr, blen, body);
    if (write_all(c->fd, req, (size_t)len))
        return -1;
    if (http_response(c, reply, sizeof reply) != 200)
        return -1;
    if (strstr(reply, "\"succeeded\":true") == NULL)
        return strstr(reply, "\"header\"") ? 1 : -1;
    (*version)++;
    return 0;
}

static void record(struct client *cl, double us)
{
    if (cl->n == cl->cap) {
        cl->cap = cl->cap ? cl->cap * 2 : 65536;
        cl->lat = realloc(cl->lat, cl->cap * sizeof *cl->lat);
        if (cl->lat == NULL) {
            perror("realloc");
            exit(1);
        }
    }
    cl->lat[cl->n++] = us;
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    struct conn *c = calloc(1, sizeof *c);
    c->fd = dial();
    char pad[4096], value[4200];
    memset(pad, 'x', (size_t)pad_bytes);
    pad[pad_bytes] = '\0';
    long version = 0;
    for (long counter = 0;; counter++) {
        double t0 = now_us();
        if (t0 >= deadline_us)
            break;
        snprintf(value, sizeof value, "{\"n\":%ld,\"pad\":\"%s\"}", counter, pad);
        int rc = target == T_SWARMD  ? cas_swarmd(c, cl->id, &version, value)
                 : target == T_REDIS ? cas_redis(c, cl->id, &version, value)
                                     : cas_etcd(c, cl->id, &version, value);
        if (rc) { /* the key is ours alone: stop this client, the run is void */
            atomic_fetch_add(rc == 1 ? &conflicts : &errors, 1);
            fprintf(stderr, "client %d: %s at version %ld\n", cl->id,
                    rc == 1 ? "conflict" : "failed write", version);
            break;
        }
        record(cl, now_us() - t0);
    }
    close(c->fd);
    free(c);
    return NULL;
}

static void redis_load_script(void)
{
    struct conn *c = calloc(1, sizeof *c);
    c->fd = dial();
    const char *argv[] = {"SCRIPT", "LOAD", CAS_SCRIPT};
    if (resp_call(c, 3, argv, script_sha, sizeof script_sha) || strlen(script_sha) != 40) {
        fprintf(stderr, "SCRIPT LOAD failed: %s\n", script_sha);
        exit(1);
    }
    close(c->fd);
    free(c);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: memory_cas swarmd|redis|etcd ADDR [CLIENTS] [SECONDS] [PAD_BYTES] "
                        "[NAMESPACE]\n");
        return 2;
    }
    const char *name = argv[1];
    target = !strcmp(name, "swarmd") ? T_SWARMD : !strcmp(name, "redis") ? T_REDIS : T_ETCD;
    if (target == T_ETCD && strcmp(name, "etcd")) {
        fprintf(stderr, "unknown target %s\n", name);
        return 2;
    }
    addr = argv[2];
    int clients = argc > 3 ? atoi(argv[3]) : 4;
    double seconds = argc > 4 ? atof(argv[4]) : 5;
    if (argc > 5)
        pad_bytes = atoi(argv[5]);
    if (argc > 6)
        ns = argv[6];
    if (clients < 1 || clients > 1024 || seconds <= 0 || pad_bytes < 0 || pad_bytes > 3000 ||
        strlen(ns) > 40) {
        fprintf(stderr, "CLIENTS 1..1024, SECONDS > 0, PAD_BYTES 0..3000, NAMESPACE <= 40 bytes\n");
        return 2;
    }
    if (target == T_REDIS)
        redis_load_script();
    struct client *cls = calloc((size_t)clients, sizeof *cls);
    double start = now_us();
    deadline_us = start + seconds * 1e6;
    for (int i = 0; i < clients; i++) {
        cls[i].id = i;
        pthread_create(&cls[i].tid, NULL, client_main, &cls[i]);
    }
    size_t total = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(cls[i].tid, NULL);
        total += cls[i].n;
    }
    double secs = (now_us() - start) / 1e6;
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + k, cls[i].lat, cls[i].n * sizeof *all);
        k += cls[i].n;
        free(cls[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_double);
#define PCT(p) (total ? all[(size_t)((double)(total - 1) * (p))] : 0)
    printf("RESULT target=%s clients=%d secs=%.2f writes=%zu writes_per_s=%.0f p50_us=%.0f "
           "p90_us=%.0f p99_us=%.0f max_us=%.0f conflicts=%ld errors=%ld\n",
           name, clients, secs, total, total / secs, PCT(0.50), PCT(0.90), PCT(0.99),
           total ? all[total - 1] : 0, (long)conflicts, (long)errors);
    free(all);
    free(cls);
    return errors || conflicts ? 1 : 0;
}
