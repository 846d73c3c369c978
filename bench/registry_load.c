/* SPDX-License-Identifier: MIT
 * registry_load.c - the capability registry at scale: registers AGENTS remote agents
 * over CAPS capabilities (agent i provides cap<i % CAPS>@<1 + (i / CAPS) % 2>, with 1 to
 * 4 slots and the label zone=z<i % 4>) on CONNS keep-alive connections, then asks
 * QUERIES discoveries one at a time on one connection, in turn:
 *
 *   GET /v1/discover?capability=cap<k>                  (bare: every version)
 *   GET /v1/discover?capability=cap<k>@2                (one version)
 *   GET /v1/discover?capability=cap<k>&labels=zone%3Dz1 (a label selector)
 *
 * and 100 GET /v1/capabilities, and 1000 GET /health (the HTTP path alone). Each reply is checked
 * (200, and the bare discovery finds AGENTS / CAPS agents). Latency is per request, from the first
 * byte written to the last byte read (monotonic clock). Prints one RESULT line: registration rate,
 * discovery p50/p90/p99/max (µs, all forms, and p99 per form), list p50/p99, the daemon's RSS
 * before and after registering (its pid from SO_PEERCRED). Exit 1 on a failed check.
 *
 * usage: registry_load SOCKET [AGENTS] [CAPS] [QUERIES] [CONNS] */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path;
static int agents = 10000, caps = 100, queries = 10000, conns = 8;
static atomic_int next_agent, failures;

struct conn {
    int fd;
    size_t used;
    char buf[1 << 22]; /* the largest reply: the capability list */
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int dial(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static long daemon_rss_kb(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    char path[64], line[256];
    long kb = -1;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
        return -1;
    snprintf(path, sizeof path, "/proc/%d/status", cred.pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* Sends one request and reads its reply (Content-Length bodies); the status, or -1.
 * *body points into c->buf until the next call. */
static int http(struct conn *c, const char *method, const char *path, const char *body,
                const char **reply)
{
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, body ? strlen(body) : 0, body ? body : "");
    for (int off = 0; off < n;) {
        ssize_t w = write(c->fd, req + off, (size_t)(n - off));
        if (w <= 0)
            return -1;
        off += (int)w;
    }
    c->used = 0;
    char *head_end = NULL;
    size_t want = 0;
    for (;;) {
        if (c->used >= sizeof c->buf - 1)
            return -1;
        ssize_t r = read(c->fd, c->buf + c->used, sizeof c->buf - 1 - c->used);
        if (r <= 0)
            return -1;
        c->used += (size_t)r;
        c->buf[c->used] = '\0';
        if (head_end == NULL && (head_end = strstr(c->buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(c->buf, "\r\nContent-Length:");
            if (cl == NULL || cl > head_end)
                return -1;
            want = (size_t)(head_end + 4 - c->buf) + strtoul(cl + 17, NULL, 10);
        }
        if (head_end && c->used >= want)
            break;
    }
    *reply = head_end + 4;
    return atoi(c->buf + 9);
}

static void *register_thread(void *unused)
{
    (void)unused;
    struct conn *c = malloc(sizeof *c);
    const char *reply;
    char body[512];
    c->fd = dial();
    for (int i; (i = atomic_fetch_add(&next_agent, 1)) < agents;) {
        snprintf(body, sizeof body,
                 "{\"name\":\"bench-%d\",\"capabilities\":[\"cap%d@%d\"],\"slots\":%d,"
                 "\"labels\":{\"zone\":\"z%d\"}}",
                 i, i % caps, 1 + (i / caps) % 2, 1 + i % 4, i % 4);
        int status = http(c, "POST", "/v1/agents", body, &reply);
        if (status != 201) {
            fprintf(stderr, "register %d: status %d\n", i, status);
            atomic_fetch_add(&failures, 1);
            break;
        }
    }
    close(c->fd);
    free(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
    if (n == 0)
        return 0;
    int i = (int)(q * n);
    return v[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: registry_load SOCKET [AGENTS] [CAPS] [QUERIES] [CONNS]\n");
        return 2;
    }
    sock_path = argv[1];
    agents = argc > 2 ? atoi(argv[2]) : agents;
    caps = argc > 3 ? atoi(argv[3]) : caps;
    queries = argc > 4 ? atoi(argv[4]) : queries;
    conns = argc > 5 ? atoi(argv[5]) : conns;
    if (agents < 1 || caps < 1 || queries < 3 || conns < 1 || conns > 256)
        return 2;

    struct conn *c = malloc(sizeof *c);
    c->fd = dial();
    long rss_before = daemon_rss_kb(c->fd);
    pthread_t tids[256];
    double t0 = now_us();
    for (int t = 0; t < conns; t++)
        pthread_create(&tids[t], NULL, register_thread, NULL);
    for (int t = 0; t < conns; t++)
        pthread_join(tids[t], NULL);
    double register_s = (now_us() - t0) / 1e6;
    long rss_after = daemon_rss_kb(c->fd);
    if (failures)
        return 1;

    double *lat = malloc(sizeof(double) * (size_t)queries);
    double *form[3];
    int nform[3] = {0, 0, 0};
    for (int f = 0; f < 3; f++)
        form[f] = malloc(sizeof(double) * (size_t)queries);
    const char *reply;
    char path[256], expect[64];
    int want_bare = agents / caps; /* agents of one capability (when CAPS divides AGENTS) */
    for (int q = 0; q < queries; q++) {
        int k = (q / 3) % caps, f = q % 3;
        if (f == 0)
            snprintf(path, sizeof path, "/v1/discover?capability=cap%d", k);
        else if (f == 1)
            snprintf(path, sizeof path, "/v1/discover?capability=cap%d@2", k);
        else
            snprintf(path, sizeof path, "/v1/discover?capability=cap%d&labels=zone%%3Dz1", k);
        double start = now_us();
        int status = http(c, "GET", path, NULL, &reply);
        double us = now_us() - start;
        snprintf(expect, sizeof expect, "\"agents\":%d}", want_bare);
        if (status != 200 || (f == 0 && agents % caps == 0 && strstr(reply, expect) == NULL)) {
            fprintf(stderr, "GET %s: status %d %.200s\n", path, status, reply ? reply : "");
            return 1;
        }
        lat[q] = us;
        form[f][nform[f]++] = us;
    }
    double health[1000], lists[100];
    for (int i = 0; i < 1000; i++) { /* the cost of the HTTP path alone, for comparison */
        double start = now_us();
        if (http(c, "GET", "/health", NULL, &reply) != 200)
            return 1;
        health[i] = now_us() - start;
    }
    for (int i = 0; i < 100; i++) {
        double start = now_us();
        if (http(c, "GET", "/v1/capabilities", NULL, &reply) != 200)
            return 1;
        lists[i] = now_us() - start;
    }
    qsort(lat, (size_t)queries, sizeof *lat, cmp_double);
    for (int f = 0; f < 3; f++)
        qsort(form[f], (size_t)nform[f], sizeof(double), cmp_double);
    qsort(lists, 100, sizeof(double), cmp_double);
    qsort(health, 1000, sizeof(double), cmp_double);
    printf("RESULT agents=%d caps=%d register_s=%.2f register_per_s=%.0f discover_p50_us=%.0f "
           "discover_p90_us=%.0f discover_p99_us=%.0f discover_max_us=%.0f bare_p99_us=%.0f "
           "version_p99_us=%.0f labels_p99_us=%.0f list_p50_us=%.0f list_p99_us=%.0f "
           "health_p50_us=%.0f health_p99_us=%.0f "
           "rss_before_kb=%ld rss_after_kb=%ld\n",
           agents, caps, register_s, agents / register_s, pct(lat, queries, 0.50),
           pct(lat, queries, 0.90), pct(lat, queries, 0.99), lat[queries - 1],
           pct(form[0], nform[0], 0.99), pct(form[1], nform[1], 0.99), pct(form[2], nform[2], 0.99),
           pct(lists, 100, 0.50), pct(lists, 100, 0.99), pct(health, 1000, 0.50),
           pct(health, 1000, 0.99), rss_before, rss_after);
    close(c->fd);
    return 0;
}
