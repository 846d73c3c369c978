/* SPDX-License-Identifier: MIT
 * sse_fanout.c - event fan-out through Server-Sent Events: opens SUBSCRIBERS streams
 * (GET /v1/events/stream?type=bench.*) to a running swarmd over its Unix socket, all read
 * by one epoll thread on non-blocking sockets, waits until every stream has sent its
 * ": ready" comment, then publishes RATE events/s for SECONDS (POST /v1/events
 * {"type":"bench.tick","data":{"t_ns":<CLOCK_REALTIME at send>}}) from PUBLISHERS threads
 * (environment, default 8), each on its own keep-alive connection pacing its share, one
 * request in flight each (a publisher the daemon answers slower than its schedule sends
 * its next event at once, and all stop at SECONDS all the same: compare
 * publish_rate with RATE). Every subscriber parses its data lines: receive time −
 * t_ns is the publish-to-receive latency (10 µs bins up to 10 s, the maximum exact). After
 * the last publish it waits until every event reached every subscriber (or 10 s without
 * progress) and prints one RESULT line: events delivered / expected, latency p50/p99/max
 * (ms), the daemon's RSS before the subscribers, with them and at the end (its pid comes
 * from SO_PEERCRED), bytes per subscriber, the publisher's POST latency p50/p99 (µs), and
 * the daemon's CPU while publishing. Exit status 1 unless every event was delivered once,
 * in order, to every subscriber. The daemon needs --max-connections above SUBSCRIBERS and
 * enough descriptors; this program raises its own RLIMIT_NOFILE.
 *
 * usage: sse_fanout SOCKET [SUBSCRIBERS] [RATE] [SECONDS] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1024
#define BIN_NS         10000ULL /* latency histogram: 10 µs bins */
#define BINS           1000000  /* up to 10 s; later ones land in the last bin */
#define DRAIN_IDLE_MS  10000

enum parse_state { P_HEAD, P_SIZE, P_DATA, P_DATA_END, P_RAW };

struct sub {
    int fd;
    enum parse_state state;
    int ready;
    int overflow;
    size_t chunk_left;
    unsigned line_len;
    unsigned long long last_id;
    long delivered;
    char line[LINE_MAX_BYTES];
};

static const char *socket_path;
static struct sub *subs;
static long nsubs;
static atomic_long ready_count, delivered_total, closed_subs, out_of_order, gaps, bad_lines;
static atomic_long published, post_errors;
static atomic_int stop_reading;
static uint64_t *hist;
static uint64_t lat_max_ns;
static int epfd;

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double now_ms(void)
{
    return (double)clock_ns(CLOCK_MONOTONIC) / 1e6;
}

static int dial(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* utime + stime of pid, in ms */
static long cpu_ms(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut, st;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

static void raise_nofile(long want)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max < want)
        rl.rlim_max = (rlim_t)want; /* allowed as root */
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl)) {
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if ((long)rl.rlim_cur < want) {
        fprintf(stderr, "RLIMIT_NOFILE is %ld, %ld descriptors needed\n", (long)rl.rlim_cur, want);
        exit(1);
    }
}

/* One complete SSE line (without its newline) of subscriber s, received at recv_ns. */
static void sse_line(struct sub *s, const char *line, size_t len, uint64_t recv_ns)
{
    if (len >= 7 && !memcmp(line, ": ready", 7)) {
        if (!s->ready) {
            s->ready = 1;
            atomic_fetch_add(&ready_count, 1);
        }
    } else if (len >= 4 && !memcmp(line, "id: ", 4)) {
        unsigned long long id = strtoull(line + 4, NULL, 10);
        if (id <= s->last_id)
            atomic_fetch_add(&out_of_order, 1);
        s->last_id = id;
    } else if (len >= 10 && !memcmp(line, "event: gap", 10)) {
        atomic_fetch_add(&gaps, 1);
    } else if (len >= 6 && !memcmp(line, "data: ", 6)) {
        const char *t = memmem(line, len, "\"t_ns\":", 7);
        if (t == NULL) {
            atomic_fetch_add(&bad_lines, 1);
            return;
        }
        uint64_t sent = strtoull(t + 7, NULL, 10);
        uint64_t lat = recv_ns > sent ? recv_ns - sent : 0;
        uint64_t bin = lat / BIN_NS;
        hist[bin < BINS ? bin : BINS - 1]++;
        if (lat > lat_max_ns)
            lat_max_ns = lat;
        s->delivered++;
        atomic_fetch_add(&delivered_total, 1);
    }
}

/* Event-stream bytes (the HTTP body, chunking removed) of subscriber s. */
static void sse_bytes(struct sub *s, const char *p, size_t n, uint64_t recv_ns)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (s->line_len + take < LINE_MAX_BYTES) {
            memcpy(s->line + s->line_len, p, take);
            s->line_len += (unsigned)take;
        } else {
            s->overflow = 1;
        }
        if (nl == NULL)
            return;
        if (s->overflow)
            atomic_fetch_add(&bad_lines, 1);
        else
            sse_line(s, s->line, s->line_len, recv_ns);
        s->line_len = 0;
        s->overflow = 0;
        p += take + 1;
        n -= take + 1;
    }
}

/* The response head: status 200, chunked or not; the rest goes to the body. */
static size_t head_bytes(struct sub *s, const char *p, size_t n)
{
    size_t take = n < LINE_MAX_BYTES - 1 - s->line_len ? n : LINE_MAX_BYTES - 1 - s->line_len;
    memcpy(s->line + s->line_len, p, take);
    size_t before = s->line_len;
    s->line_len += (unsigned)take;
    s->line[s->line_len] = '\0';
    char *end = strstr(s->line, "\r\n\r\n");
    if (end == NULL) {
        if (s->line_len >= LINE_MAX_BYTES - 1) {
            fprintf(stderr, "response head too long\n");
            exit(1);
        }
        return take;
    }
    *end = '\0';
    if (strncmp(s->line, "HTTP/1.1 200", 12)) {
        fprintf(stderr, "stream refused: %s\n", s->line);
        exit(1);
    }
    s->state = strcasestr(s->line, "transfer-encoding: chunked") ? P_SIZE : P_RAW;
    size_t used = (size_t)(end + 4 - s->line) - before;
    s->line_len = 0;
    return used;
}

static void sub_bytes(struct sub *s, const char *p, size_t n, uint64_t recv_ns)
{
    while (n) {
        size_t used = 0;
        switch (s->state) {
        case P_HEAD:
            used = head_bytes(s, p, n);
            break;
        case P_SIZE: /* "<hex>\r\n" */
            while (used < n && p[used] != '\n') {
                char c = p[used++];
                int digit = c >= '0' && c <= '9'   ? c - '0'
                            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                   : -1;
                if (digit >= 0)
                    s->chunk_left = s->chunk_left * 16 + (size_t)digit;
            }
            if (used < n) {
                used++;
                s->state = s->chunk_left ? P_DATA : P_RAW; /* 0: the stream ended */
            }
            break;
        case P_DATA:
            used = n < s->chunk_left ? n : s->chunk_left;
            sse_bytes(s, p, used, recv_ns);
            s->chunk_left -= used;
            if (s->chunk_left == 0) {
                s->state = P_DATA_END;
                s->chunk_left = 2;
            }
            break;
        case P_DATA_END: /* the CRLF after a chunk */
            used = n < s->chunk_left ? n : s->chunk_left;
            s->chunk_left -= used;
            if (s->chunk_left == 0)
                s->state = P_SIZE;
            break;
        case P_RAW:
            sse_bytes(s, p, n, recv_ns);
            used = n;
            break;
        }
        p += used;
        n -= used;
    }
}

static void *reader_main(void *arg)
{
    static char buf[1 << 18];
    struct epoll_event evs[512];
    while (!atomic_load(&stop_reading)) {
        int n = epoll_wait(epfd, evs, 512, 100);
        for (int i = 0; i < n; i++) {
            struct sub *s = evs[i].data.ptr;
            ssize_t got = read(s->fd, buf, sizeof buf);
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got <= 0) {
                epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
                close(s->fd);
                s->fd = -1;
                atomic_fetch_add(&closed_subs, 1);
                continue;
            }
            sub_bytes(s, buf, (size_t)got, clock_ns(CLOCK_REALTIME));
        }
    }
    return arg;
}

static void open_subscriber(struct sub *s)
{
    static const char req[] = "GET /v1/events/stream?type=bench.* HTTP/1.1\r\nHost: x\r\n"
                              "Accept: text/event-stream\r\n\r\n";
    s->fd = dial(); /* blocking: waits while the listen backlog is full */
    if (write(s->fd, req, sizeof req - 1) != (ssize_t)sizeof req - 1) {
        perror("write");
        exit(1);
    }
    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev)) {
        perror("epoll_ctl");
        exit(1);
    }
}

#define MAX_PUBLISHERS 64

struct publisher {
    long rate;
    double seconds;
    int index, count_of; /* this publisher sends events index, index + count_of, ... */
    double *post_us;     /* one per event */
    long count;
    double elapsed_ms;
};

/* Reads one HTTP response with a Content-Length body; returns its status or -1. */
static int read_response(int fd, char *buf, size_t size)
{
    size_t used = 0;
    char *end = NULL;
    while (end == NULL) {
        ssize_t n = read(fd, buf + used, size - used - 1);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    char *cl = strcasestr(buf, "content-length:");
    size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
    while (used < want) {
        ssize_t n = read(fd, buf + used, size - used - 1);
        if (n <= 0)
            return -1;
        used += (size_t)n;
    }
    return atoi(buf + 9);
}

static void *publisher_main(void *arg)
{
    struct publisher *pub = arg;
    int fd = dial();
    long total = (long)((double)pub->rate * pub->seconds);
    char body[256], req[512], resp[8192];
    uint64_t start = clock_ns(CLOCK_MONOTONIC);
    uint64_t end = start + (uint64_t)(pub->seconds * 1e9);
    for (long i = pub->index; i < total; i += pub->count_of) {
        uint64_t due = start + (uint64_t)((double)i * 1e9 / (double)pub->rate);
        if (clock_ns(CLOCK_MONOTONIC) >= end)
            break; /* behind the schedule: the time is up all the same */
        struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ULL),
                              .tv_nsec = (long)(due % 1000000000ULL)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
        int blen = snprintf(body, sizeof body, "{\"type\":\"bench.tick\",\"data\":{\"t_ns\":%llu}}",
                            (unsigned long long)clock_ns(CLOCK_REALTIME));
        int rlen =
            snprintf(req, sizeof req,
                     "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     blen, body);
        if (write(fd, req, (size_t)rlen) != rlen || read_response(fd, resp, sizeof resp) != 201) {
            atomic_fetch_add(&post_errors, 1);
            continue;
        }
        pub->post_us[pub->count++] = (double)(clock_ns(CLOCK_MONOTONIC) - t0) / 1e3;
        atomic_fetch_add(&published, 1);
    }
    pub->elapsed_ms = (double)(clock_ns(CLOCK_MONOTONIC) - start) / 1e6;
    close(fd);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* the p-quantile of the latency histogram, in ms (bin upper edge) */
static double hist_pct(double p, uint64_t total)
{
    uint64_t want = (uint64_t)((double)total * p), seen = 0;
    for (long b = 0; b < BINS; b++) {
        seen += hist[b];
        if (seen > want)
            return (double)(b + 1) * BIN_NS / 1e6;
    }
    return (double)lat_max_ns / 1e6;
}

static pid_t daemon_pid(void)
{
    int fd = dial();
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
        perror("SO_PEERCRED");
        exit(1);
    }
    close(fd);
    return cred.pid;
}

static int wait_all_ready(double timeout_ms)
{
    double until = now_ms() + timeout_ms;
    while (atomic_load(&ready_count) < nsubs) {
        if (now_ms() > until || atomic_load(&closed_subs))
            return -1;
        usleep(1000);
    }
    return 0;
}

/* waits until every subscriber has every published event, or DRAIN_IDLE_MS without news */
static void wait_delivered(long want)
{
    long last = -1;
    double idle_since = now_ms();
    while (atomic_load(&delivered_total) < want) {
        long now = atomic_load(&delivered_total);
        if (now != last) {
            last = now;
            idle_since = now_ms();
        } else if (now_ms() - idle_since > DRAIN_IDLE_MS) {
            return;
        }
        usleep(1000);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sse_fanout SOCKET [SUBSCRIBERS] [RATE] [SECONDS]\n");
        return 2;
    }
    socket_path = argv[1];
    nsubs = argc > 2 ? atol(argv[2]) : 10000;
    struct publisher pub = {.rate = argc > 3 ? atol(argv[3]) : 1000,
                            .seconds = argc > 4 ? atof(argv[4]) : 10};
    if (nsubs < 1 || nsubs > 1000000 || pub.rate < 1 || pub.seconds <= 0) {
        fprintf(stderr, "SUBSCRIBERS 1..1000000, RATE >= 1, SECONDS > 0\n");
        return 2;
    }
    raise_nofile(nsubs + 64);
    subs = calloc((size_t)nsubs, sizeof *subs);
    hist = calloc(BINS, sizeof *hist);
    const char *np = getenv("PUBLISHERS");
    int npublishers = np ? atoi(np) : 8;
    if (npublishers < 1 || npublishers > MAX_PUBLISHERS) {
        fprintf(stderr, "PUBLISHERS 1..%d\n", MAX_PUBLISHERS);
        return 2;
    }
    size_t per_publisher = (size_t)((double)pub.rate * pub.seconds) / (size_t)npublishers + 2;
    pub.post_us = calloc(per_publisher * (size_t)npublishers, sizeof *pub.post_us);
    if (subs == NULL || hist == NULL || pub.post_us == NULL) {
        perror("calloc");
        return 1;
    }
    pid_t pid = daemon_pid();
    long rss_before = rss_kb(pid);
    epfd = epoll_create1(0);
    pthread_t reader;
    pthread_create(&reader, NULL, reader_main, NULL);

    double t0 = now_ms();
    for (long i = 0; i < nsubs; i++)
        open_subscriber(&subs[i]);
    double connected_ms = now_ms() - t0;
    if (wait_all_ready(120000)) {
        fprintf(stderr, "only %ld of %ld streams ready (%ld closed)\n", (long)ready_count, nsubs,
                (long)closed_subs);
        return 1;
    }
    double ready_ms = now_ms() - t0;
    long rss_with = rss_kb(pid);

    long cpu0 = cpu_ms(pid);
    double p0 = now_ms();
    /* several connections, each pacing its share: the daemon's answers do not slow the
     * schedule (an open loop), as independent publishers would */
    struct publisher pubs[MAX_PUBLISHERS];
    pthread_t publishers[MAX_PUBLISHERS];
    for (int i = 0; i < npublishers; i++) {
        pubs[i] = pub;
        pubs[i].index = i;
        pubs[i].count_of = npublishers;
        pubs[i].post_us = pub.post_us + (size_t)i * per_publisher;
        pthread_create(&publishers[i], NULL, publisher_main, &pubs[i]);
    }
    pub.count = 0;
    pub.elapsed_ms = 0;
    for (int i = 0; i < npublishers; i++) {
        pthread_join(publishers[i], NULL);
        memmove(pub.post_us + pub.count, pubs[i].post_us, (size_t)pubs[i].count * sizeof(double));
        pub.count += pubs[i].count;
        if (pubs[i].elapsed_ms > pub.elapsed_ms)
            pub.elapsed_ms = pubs[i].elapsed_ms;
    }
    double publish_end = now_ms();
    long want = atomic_load(&published) * nsubs;
    wait_delivered(want);
    double drain_ms = now_ms() - publish_end;
    long cpu1 = cpu_ms(pid);
    double phase_ms = now_ms() - p0;
    long rss_end = rss_kb(pid);
    atomic_store(&stop_reading, 1);
    pthread_join(reader, NULL);

    long delivered = atomic_load(&delivered_total), min_sub = -1;
    for (long i = 0; i < nsubs; i++)
        if (min_sub < 0 || subs[i].delivered < min_sub)
            min_sub = subs[i].delivered;
    qsort(pub.post_us, (size_t)pub.count, sizeof *pub.post_us, cmp_double);
    double post_p50 = pub.count ? pub.post_us[(size_t)(pub.count - 1) / 2] : 0;
    double post_p99 = pub.count ? pub.post_us[(size_t)((double)(pub.count - 1) * 0.99)] : 0;
    int ok = delivered == want && min_sub == (long)published && !out_of_order && !gaps &&
             !bad_lines && !closed_subs && !post_errors;
    printf("RESULT subscribers=%ld rate=%ld secs=%.1f published=%ld publish_rate=%.0f "
           "post_errors=%ld expected=%ld delivered=%ld min_per_sub=%ld lat_p50_ms=%.2f "
           "lat_p99_ms=%.2f lat_max_ms=%.2f post_p50_us=%.0f post_p99_us=%.0f "
           "rss_before_kb=%ld rss_with_kb=%ld rss_end_kb=%ld bytes_per_sub=%.0f connect_ms=%.0f "
           "ready_ms=%.0f drain_ms=%.0f daemon_cpu_pct=%.0f out_of_order=%ld gaps=%ld "
           "bad_lines=%ld closed=%ld ok=%d\n",
           nsubs, pub.rate, pub.seconds, (long)published,
           (double)published / (pub.elapsed_ms / 1e3), (long)post_errors, want, delivered, min_sub,
           hist_pct(0.50, (uint64_t)delivered), hist_pct(0.99, (uint64_t)delivered),
           (double)lat_max_ns / 1e6, post_p50, post_p99, rss_before, rss_with, rss_end,
           (double)(rss_with - rss_before) * 1024 / (double)nsubs, connected_ms, ready_ms, drain_ms,
           100.0 * (double)(cpu1 - cpu0) / phase_ms, (long)out_of_order, (long)gaps,
           (long)bad_lines, (long)closed_subs, ok);
    return ok ? 0 : 1;
}
