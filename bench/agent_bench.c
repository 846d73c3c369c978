/* SPDX-License-Identifier: MIT
 * agent_bench.c - measures swarmd's managed (supervised) agents from outside: over the
 * Unix socket (a small HTTP/1.1 keep-alive client) and through /proc. Three modes, each
 * printing one RESULT line (key=value, times in ms unless the key says _us):
 *
 *   agent_bench start SOCK SWARMD_PID SWARM TEMPLATE N COMM
 *       PUTs the swarm {"template":TEMPLATE,"replicas":N} (intensity 1000 restarts/s, so
 *       the kills of `restart` never fail it) and times, from the moment the PUT is sent:
 *       its answer (put_ms); all N agents listed "ready" with a pid by GET
 *       /v1/swarms/SWARM, polled every 10 ms (api_ready_ms); N children of swarmd named
 *       COMM, i.e. exec'd, in /proc, polled every 1 ms (procs_ms). Meanwhile another
 *       connection GETs /health every 10 ms: health_max_ms is the longest it waited
 *       (how long the daemon stopped answering while it spawned).
 *
 *   agent_bench restart SOCK SWARMD_PID COMM KILLS [MIN_AGE_MS] [PAUSE_MS] [SEED]
 *       KILLS times: picks at random a child of swarmd named COMM that has run at least
 *       MIN_AGE_MS (default 5500: swarmd restarts at once only after a run of 5 s or more;
 *       so a just-restarted agent, and the previous victim, are never picked), SIGKILLs it
 *       and polls swarmd's children list every 100 µs until a new child appears (fork
 *       seen) and until it is named COMM (exec seen) - the method of peer-bench's
 *       sup_probe - then polls GET /v1/agents/ID (ID from the victim's SWARM_AGENT)
 *       every 1 ms until it shows the new pid and state "ready" (api seen). PAUSE_MS
 *       (default 300) between rounds. Reports p50/p99/max of each, and swarmd's RSS and
 *       open descriptors before and after (leaks).
 *
 *   agent_bench load SOCK TOTAL THREADS RATE CAPABILITY
 *       Submits TOTAL tasks over THREADS keep-alive connections (POST /v1/tasks, each
 *       waiting for its 201), flat out (RATE 0) or at RATE tasks/s in total on an absolute
 *       schedule; the payload carries "bench_t0_us" (CLOCK_REALTIME at submit, for
 *       noop_agent's latency files) and 64 bytes of padding. A poller GETs /metrics every
 *       10 ms until swarmd_tasks_succeeded_total{capability} has grown by TOTAL: e2e_per_s
 *       = TOTAL / (time from the first submit to that poll). Also the dispatch-latency
 *       histogram of this run (swarmd's, from ms timestamps: bucket bounds only).
 *
 *   agent_bench drain SOCK SWARM TEMPLATE N TOTAL CAPABILITY
 *       With TOTAL tasks already queued (and no agent yet), PUTs the swarm
 *       {"template":TEMPLATE,"replicas":N} and polls /metrics every 10 ms until
 *       swarmd_tasks_succeeded_total{capability} has grown by TOTAL: drain_per_s = TOTAL /
 *       (PUT sent -> that poll), the agents' rate when the submitters are not the limit.
 *
 * Build: cc -O2 -pthread -o agent_bench agent_bench.c   (bench/Makefile does it). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long long realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1e3), (long)((ms - (time_t)(ms / 1e3) * 1e3) * 1e6)};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* p-th percentile (nearest rank) of a sorted array */
static double pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    size_t i = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (i < 1)
        i = 1;
    if (i > n)
        i = n;
    return v[i - 1];
}

/* ---- HTTP/1.1 over the Unix socket ---- */

struct conn {
    int fd;
    char *buf;
    size_t cap;
};

static void conn_open(struct conn *c)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa)) {
        perror("agent_bench: connect");
        exit(1);
    }
    if (c->buf == NULL) {
        c->cap = 1 << 16;
        c->buf = malloc(c->cap);
    }
}

/* Sends one request, reads the answer (Content-Length bodies only: swarmd's). Returns
 * the status and sets *body (NUL-terminated, in c->buf); -1 on a broken connection. */
static int http(struct conn *c, const char *method, const char *path, const char *body, char **out)
{
    char head[512];
    size_t blen = body ? strlen(body) : 0;
    int hlen = snprintf(head, sizeof head,
                        "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        method, path, blen);
    if (write(c->fd, head, (size_t)hlen) != hlen ||
        (blen && write(c->fd, body, blen) != (ssize_t)blen))
        return -1;
    size_t used = 0, want = 0;
    char *end = NULL;
    for (;;) {
        if (used + 1 >= c->cap) {
            c->cap *= 2;
            c->buf = realloc(c->buf, c->cap);
        }
        ssize_t n = read(c->fd, c->buf + used, c->cap - used - 1);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        c->buf[used] = '\0';
        if (end == NULL && (end = strstr(c->buf, "\r\n\r\n"))) {
            char *cl = strcasestr(c->buf, "content-length:");
            want = (size_t)(end + 4 - c->buf) + (cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
            if (want + 1 > c->cap) {
                size_t off = (size_t)(end - c->buf);
                c->cap = want + 1;
                c->buf = realloc(c->buf, c->cap);
                end = c->buf + off;
            }
        }
        if (end && used >= want)
            break;
    }
    if (out)
        *out = end + 4;
    return atoi(c->buf + 9);
}

/* ---- /proc ---- */

#define MAXP 65536
static int children(int pid, int *out, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int n = 0, x;
    while (n < max && fscanf(f, "%d", &x) == 1)
        out[n++] = x;
    fclose(f);
    return n;
}

static int is_comm(int pid, const char *comm)
{
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t l = strlen(comm);
    int ok = fgets(buf, sizeof buf, f) && strncmp(buf, comm, l) == 0 && buf[l] == '\n';
    fclose(f);
    return ok;
}

/* age of a process in ms, from its start time in /proc/PID/stat and /proc/uptime */
static double age_ms(int pid)
{
    char path[64], s[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t r = fread(s, 1, sizeof s - 1, f);
    fclose(f);
    s[r] = '\0';
    char *p = strrchr(s, ')');
    if (p == NULL)
        return -1;
    p += 2;
    for (int field = 3; field < 22 && p; field++) { /* field 22: starttime */
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (p == NULL)
        return -1;
    double start = strtod(p, NULL) / (double)sysconf(_SC_CLK_TCK);
    f = fopen("/proc/uptime", "r");
    double up = 0;
    if (f == NULL || fscanf(f, "%lf", &up) != 1)
        up = 0;
    if (f)
        fclose(f);
    return (up - start) * 1e3;
}

static long status_kb(int pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f == NULL)
        return v;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0) {
            v = atol(line + strlen(key));
            break;
        }
    fclose(f);
    return v;
}

static int count_fds(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* value of NAME in /proc/PID/environ, into out */
static int environ_get(int pid, const char *name, char *out, size_t size)
{
    char path[64];
    static char env[1 << 16];
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(env, 1, sizeof env - 1, f);
    fclose(f);
    env[n] = '\0';
    size_t l = strlen(name);
    for (size_t i = 0; i < n; i += strlen(env + i) + 1)
        if (strncmp(env + i, name, l) == 0 && env[i + l] == '=') {
            snprintf(out, size, "%s", env + i + l + 1);
            return 0;
        }
    return -1;
}

/* a small set of pids (open addressing) */
static int pidset[1 << 17];
static int pidset_has(int pid)
{
    for (unsigned h = (unsigned)pid * 2654435761u >> 15;; h = (h + 1) & ((1 << 17) - 1)) {
        if (pidset[h] == pid)
            return 1;
        if (pidset[h] == 0)
            return 0;
    }
}
static void pidset_add(int pid)
{
    for (unsigned h = (unsigned)pid * 2654435761u >> 15;; h = (h + 1) & ((1 << 17) - 1)) {
        if (pidset[h] == pid)
            return;
        if (pidset[h] == 0) {
            pidset[h] = pid;
            return;
        }
    }
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0, l = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)); p += l)
        n++;
    return n;
}

/* ---- start ---- */

struct put_arg {
    const char *path, *body;
    double t0, done_ms;
    int status;
};

static atomic_int start_done;

static void *put_thread(void *arg)
{
    struct put_arg *p = arg;
    struct conn c = {0};
    conn_open(&c);
    p->t0 = now_ms();
    p->status = http(&c, "PUT", p->path, p->body, NULL);
    p->done_ms = now_ms() - p->t0;
    close(c.fd);
    return NULL;
}

static double health_max;
static void *health_thread(void *arg)
{
    struct conn c = {0};
    conn_open(&c);
    while (!atomic_load(&start_done)) {
        double t = now_ms();
        if (http(&c, "GET", "/health", NULL, NULL) != 200) {
            fprintf(stderr, "agent_bench: /health failed\n");
            break;
        }
        t = now_ms() - t;
        if (t > health_max)
            health_max = t;
        sleep_ms(10);
    }
    close(c.fd);
    return arg;
}

static int cmd_start(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: agent_bench start SOCK SWARMD_PID SWARM TEMPLATE N COMM\n");
        return 2;
    }
    int spid = atoi(argv[3]), n = atoi(argv[6]);
    const char *swarm = argv[4], *tpl = argv[5], *comm = argv[7];
    char path[256], body[512], get_path[256];
    snprintf(path, sizeof path, "/v1/swarms/%s", swarm);
    snprintf(get_path, sizeof get_path, "/v1/swarms/%s", swarm);
    snprintf(
        body, sizeof body,
        "{\"template\":\"%s\",\"replicas\":%d,\"intensity\":{\"restarts\":1000,\"period\":\"1s\"}}",
        tpl, n);
    static int kids[MAXP];
    struct put_arg put = {path, body, 0, -1, 0};
    struct conn api = {0};
    conn_open(&api);
    pthread_t pt, ht;
    pthread_create(&ht, NULL, health_thread, NULL);
    sleep_ms(30); /* the health poller has a baseline */
    double t0 = now_ms();
    pthread_create(&pt, NULL, put_thread, &put);
    double procs_ms = -1, api_ms = -1, next_api = t0;
    long polls = 0;
    while (procs_ms < 0 || api_ms < 0) {
        double t = now_ms();
        if (t - t0 > 300000) {
            fprintf(stderr, "agent_bench: not all %d agents up after 300 s\n", n);
            return 1;
        }
        if (procs_ms < 0) {
            int k = children(spid, kids, MAXP), up = 0;
            for (int i = 0; i < k; i++) {
                if (pidset_has(kids[i]) || (is_comm(kids[i], comm) && (pidset_add(kids[i]), 1)))
                    up++;
            }
            if (up >= n)
                procs_ms = now_ms() - t0;
        }
        if (api_ms < 0 && t >= next_api) {
            char *resp;
            polls++;
            if (http(&api, "GET", get_path, NULL, &resp) == 200) {
                char *agents = strstr(resp, "\"agents\":[");
                if (agents && count_str(agents, "\"state\":\"ready\"") == (size_t)n &&
                    count_str(agents, "\"pid\":0,") == 0 &&
                    count_str(agents, "\"pid\":") == (size_t)n)
                    api_ms = now_ms() - t0;
            }
            next_api = t + 10;
        }
        sleep_ms(1);
    }
    pthread_join(pt, NULL);
    atomic_store(&start_done, 1);
    pthread_join(ht, NULL);
    printf("RESULT mode=start n=%d put_status=%d put_ms=%.1f api_ready_ms=%.1f procs_ms=%.1f "
           "health_max_ms=%.1f api_polls=%ld swarmd_rss_kb=%ld swarmd_fds=%d\n",
           n, put.status, put.done_ms, api_ms, procs_ms, health_max, polls,
           status_kb(spid, "VmRSS:"), count_fds(spid));
    return put.status == 200 || put.status == 201 ? 0 : 1;
}

/* ---- restart ---- */

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int cmd_restart(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: agent_bench restart SOCK SWARMD_PID COMM KILLS [MIN_AGE_MS] "
                        "[PAUSE_MS] [SEED]\n");
        return 2;
    }
    int spid = atoi(argv[3]), kills = atoi(argv[5]);
    const char *comm = argv[4];
    double min_age = argc > 6 ? atof(argv[6]) : 5500, pause = argc > 7 ? atof(argv[7]) : 300;
    if (argc > 8)
        rng ^= strtoull(argv[8], NULL, 10) * 0x9E3779B97F4A7C15ull;
    static int kids[MAXP], cand[MAXP], before[MAXP];
    double *tf = calloc((size_t)kills, sizeof *tf), *te = calloc((size_t)kills, sizeof *te),
           *ta = calloc((size_t)kills, sizeof *ta);
    struct conn api = {0};
    conn_open(&api);
    long rss0 = status_kb(spid, "VmRSS:");
    int fds0 = count_fds(spid), nagents = 0, waited_rounds = 0, api_missing = 0;
    int done = 0;
    for (int r = 0; r < kills; r++) {
        /* the candidates: our comm, old enough */
        int k, nc = 0;
        double wait_start = now_ms();
        for (;;) {
            k = children(spid, kids, MAXP);
            nc = 0;
            int named = 0;
            for (int i = 0; i < k; i++) {
                if (!is_comm(kids[i], comm))
                    continue;
                named++;
                if (age_ms(kids[i]) >= min_age)
                    cand[nc++] = kids[i];
            }
            if (r == 0)
                nagents = named;
            if (nc > 0)
                break;
            if (now_ms() - wait_start > 60000) {
                fprintf(stderr, "agent_bench: no agent older than %.0f ms for 60 s\n", min_age);
                goto out;
            }
            waited_rounds++;
            sleep_ms(20);
        }
        int victim = cand[xorshift() % (uint64_t)nc];
        char agent_id[64] = "";
        environ_get(victim, "SWARM_AGENT", agent_id, sizeof agent_id);
        int nb = children(spid, before, MAXP);
        memset(pidset, 0, sizeof pidset);
        for (int i = 0; i < nb; i++)
            pidset_add(before[i]);
        double a = now_ms(), fork_seen = -1, exec_seen = -1;
        int newpid = 0;
        if (kill(victim, SIGKILL)) {
            perror("agent_bench: kill");
            goto out;
        }
        while (exec_seen < 0 && now_ms() - a < 30000) {
            int m = children(spid, kids, MAXP);
            for (int i = 0; i < m && exec_seen < 0; i++) {
                if (pidset_has(kids[i]))
                    continue;
                if (fork_seen < 0)
                    fork_seen = now_ms();
                if (is_comm(kids[i], comm)) {
                    exec_seen = now_ms();
                    newpid = kids[i];
                }
            }
            if (exec_seen < 0) {
                struct timespec ts = {0, 100000};
                nanosleep(&ts, NULL);
            }
        }
        if (exec_seen < 0) {
            fprintf(stderr, "agent_bench: no restart seen within 30 s (round %d)\n", r);
            goto out;
        }
        double api_seen = -1;
        if (agent_id[0]) {
            char path[128], pidkey[64], *resp;
            snprintf(path, sizeof path, "/v1/agents/%s", agent_id);
            snprintf(pidkey, sizeof pidkey, "\"pid\":%d,", newpid);
            while (now_ms() - a < 30000) {
                if (http(&api, "GET", path, NULL, &resp) == 200 && strstr(resp, pidkey) &&
                    strstr(resp, "\"state\":\"ready\"")) {
                    api_seen = now_ms();
                    break;
                }
                sleep_ms(1);
            }
        }
        if (api_seen < 0)
            api_missing++;
        tf[done] = fork_seen - a;
        te[done] = exec_seen - a;
        ta[done] = api_seen < 0 ? 1e9 : api_seen - a;
        done++;
        sleep_ms(pause);
    }
out:;
    long rss1 = status_kb(spid, "VmRSS:");
    int fds1 = count_fds(spid);
    qsort(tf, (size_t)done, sizeof *tf, cmp_double);
    qsort(te, (size_t)done, sizeof *te, cmp_double);
    qsort(ta, (size_t)done, sizeof *ta, cmp_double);
    printf(
        "RESULT mode=restart agents=%d kills=%d fork_p50_ms=%.2f exec_p50_ms=%.2f "
        "exec_p99_ms=%.2f exec_max_ms=%.2f api_p50_ms=%.2f api_p99_ms=%.2f api_max_ms=%.2f "
        "api_missing=%d waits=%d rss_before_kb=%ld rss_after_kb=%ld fds_before=%d fds_after=%d\n",
        nagents, done, pct(tf, (size_t)done, 50), pct(te, (size_t)done, 50),
        pct(te, (size_t)done, 99), pct(te, (size_t)done, 100), pct(ta, (size_t)done, 50),
        pct(ta, (size_t)done, 99), pct(ta, (size_t)done, 100), api_missing, waited_rounds, rss0,
        rss1, fds0, fds1);
    return done == kills ? 0 : 1;
}

/* ---- load ---- */

static long total, threads, rate;
static const char *capability;
static atomic_long errors;
static double *acks, start_ms, thread_end[256];

static void *submitter(void *arg)
{
    long tid = (long)(intptr_t)arg;
    struct conn c = {0};
    conn_open(&c);
    char body[512], pad[65];
    memset(pad, 'x', 64);
    pad[64] = '\0';
    for (long i = tid; i < total; i += threads) {
        if (rate > 0) {
            double due = start_ms + (double)i * 1e3 / (double)rate, t = now_ms();
            if (due > t)
                sleep_ms(due - t);
        }
        snprintf(body, sizeof body,
                 "{\"capability\":\"%s\",\"payload\":{\"bench_t0_us\":%lld,\"p\":\"%s\"}}",
                 capability, realtime_us(), pad);
        double t0 = now_ms();
        if (http(&c, "POST", "/v1/tasks", body, NULL) != 201)
            atomic_fetch_add(&errors, 1);
        acks[i] = now_ms() - t0;
    }
    thread_end[tid] = now_ms();
    close(c.fd);
    return NULL;
}

/* counter{capability="cap"} (or with no label when cap is NULL) from a /metrics text */
static double metric(const char *text, const char *name, const char *cap)
{
    char key[256];
    if (cap)
        snprintf(key, sizeof key, "\n%s{capability=\"%s\"} ", name, cap);
    else
        snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(text, key);
    return p ? strtod(p + strlen(key), NULL) : 0;
}

static const char *const bucket_le[] = {"0.0005", "0.001", "0.002", "0.005", "0.01", "0.025",
                                        "0.05",   "0.1",   "0.25",  "0.5",   "1",    "+Inf"};
#define NB (sizeof bucket_le / sizeof *bucket_le)

static void buckets(const char *text, double *out)
{
    for (size_t i = 0; i < NB; i++) {
        char key[128];
        snprintf(key, sizeof key, "swarmd_task_dispatch_latency_seconds_bucket{le=\"%s\"}",
                 bucket_le[i]);
        out[i] = metric(text, key, NULL);
    }
}

static int cmd_load(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: agent_bench load SOCK TOTAL THREADS RATE CAPABILITY\n");
        return 2;
    }
    total = atol(argv[3]);
    threads = atol(argv[4]);
    rate = atol(argv[5]);
    capability = argv[6];
    acks = calloc((size_t)total, sizeof *acks);
    struct conn mc = {0};
    conn_open(&mc);
    char *text;
    if (http(&mc, "GET", "/metrics", NULL, &text) != 200)
        return 1;
    /* text - 1 is the '\n' of the blank line ending the head: every metric line, the
     * first included, then starts with '\n' */
    double base = metric(text - 1, "swarmd_tasks_succeeded_total", capability), b0[NB], b1[NB];
    buckets(text - 1, b0);
    pthread_t tids[256];
    start_ms = now_ms() + 5;
    for (long i = 0; i < threads && i < 256; i++)
        pthread_create(&tids[i], NULL, submitter, (void *)(intptr_t)i);
    double done_ms = -1, succeeded = 0;
    while (now_ms() - start_ms < 600000) {
        sleep_ms(10);
        if (http(&mc, "GET", "/metrics", NULL, &text) != 200)
            break;
        succeeded = metric(text - 1, "swarmd_tasks_succeeded_total", capability) - base;
        if (succeeded >= (double)total) {
            done_ms = now_ms() - start_ms;
            buckets(text - 1, b1);
            break;
        }
    }
    for (long i = 0; i < threads && i < 256; i++)
        pthread_join(tids[i], NULL);
    double submit_ms = 0; /* until the last submitter had its last answer */
    for (long i = 0; i < threads && i < 256; i++)
        if (thread_end[i] - start_ms > submit_ms)
            submit_ms = thread_end[i] - start_ms;
    qsort(acks, (size_t)total, sizeof *acks, cmp_double);
    /* dispatch histogram of this run: bucket counts minus the baseline */
    double cnt = done_ms > 0 ? b1[NB - 1] - b0[NB - 1] : 0;
    char hist[512] = "";
    size_t hl = 0;
    const char *p50b = "-", *p99b = "-";
    for (size_t i = 0; done_ms > 0 && i < NB; i++) {
        double c = b1[i] - b0[i];
        if (p50b[0] == '-' && c >= cnt * 0.5)
            p50b = bucket_le[i];
        if (p99b[0] == '-' && c >= cnt * 0.99)
            p99b = bucket_le[i];
        hl += (size_t)snprintf(hist + hl, sizeof hist - hl, "%sle%s:%.0f", i ? "," : "",
                               bucket_le[i], c);
    }
    printf("RESULT mode=load total=%ld threads=%ld rate=%ld submit_per_s=%.0f e2e_per_s=%.0f "
           "e2e_ms=%.0f ack_p50_us=%.0f ack_p99_us=%.0f errors=%ld succeeded=%.0f "
           "dispatch_p50_le_s=%s dispatch_p99_le_s=%s dispatch_hist=%s\n",
           total, threads, rate, total / (submit_ms / 1e3),
           done_ms > 0 ? total / (done_ms / 1e3) : 0, done_ms, pct(acks, (size_t)total, 50) * 1e3,
           pct(acks, (size_t)total, 99) * 1e3, (long)errors, succeeded, p50b, p99b, hist);
    return errors || done_ms < 0;
}

static int cmd_drain(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: agent_bench drain SOCK SWARM TEMPLATE N TOTAL CAPABILITY\n");
        return 2;
    }
    const char *cap = argv[7];
    long n_total = atol(argv[6]);
    char path[256], body[512], *text;
    snprintf(path, sizeof path, "/v1/swarms/%s", argv[3]);
    snprintf(body, sizeof body, "{\"template\":\"%s\",\"replicas\":%d}", argv[4], atoi(argv[5]));
    struct conn c = {0};
    conn_open(&c);
    if (http(&c, "GET", "/metrics", NULL, &text) != 200)
        return 1;
    double base = metric(text - 1, "swarmd_tasks_succeeded_total", cap), done = -1, got = 0;
    double t0 = now_ms();
    int st = http(&c, "PUT", path, body, NULL);
    if (st != 200 && st != 201) {
        fprintf(stderr, "agent_bench: PUT %s: %d\n", path, st);
        return 1;
    }
    while (now_ms() - t0 < 600000) {
        sleep_ms(10);
        if (http(&c, "GET", "/metrics", NULL, &text) != 200)
            break;
        got = metric(text - 1, "swarmd_tasks_succeeded_total", cap) - base;
        if (got >= (double)n_total) {
            done = now_ms() - t0;
            break;
        }
    }
    printf("RESULT mode=drain total=%ld agents=%d drain_ms=%.0f drain_per_s=%.0f succeeded=%.0f\n",
           n_total, atoi(argv[5]), done, done > 0 ? n_total / (done / 1e3) : 0, got);
    return done < 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 3) {
        fprintf(stderr, "usage: agent_bench start|restart|load|drain SOCK ...\n");
        return 2;
    }
    sock_path = argv[2];
    if (strcmp(argv[1], "start") == 0)
        return cmd_start(argc, argv);
    if (strcmp(argv[1], "restart") == 0)
        return cmd_restart(argc, argv);
    if (strcmp(argv[1], "load") == 0)
        return cmd_load(argc, argv);
    if (strcmp(argv[1], "drain") == 0)
        return cmd_drain(argc, argv);
    fprintf(stderr, "agent_bench: unknown mode %s\n", argv[1]);
    return 2;
}
