/* SPDX-License-Identifier: MIT
 * submit_load.c - fills a running swarmd with tasks as fast as it acknowledges them:
 * N threads, one keep-alive connection each (Unix socket), each POSTing /v1/tasks and
 * waiting for the 201 before the next, until the total is reached. Prints the rate and
 * the acknowledgement latency percentiles. Used by bench/queue_1m.sh.
 * usage: submit_load SOCKET TOTAL [THREADS] [CAPABILITY] [PAYLOAD_BYTES] */
#define _GNU_SOURCE
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

static const char *socket_path, *capability = "bench.noop";
static long total, payload_bytes = 100;
static atomic_long next_task, errors;
static double *latencies;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
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

/* Reads one HTTP response; returns its status or -1. */
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
    size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
    size_t want = (size_t)(end + 4 - buf) + body;
    while (used < want) {
        ssize_t n = read(fd, buf + used, size - used - 1);
        if (n <= 0)
            return -1;
        used += (size_t)n;
    }
    return atoi(buf + 9);
}

static void *worker(void *arg)
{
    int fd = dial();
    char body[8192], req[9000], resp[65536];
    int plen = (int)(payload_bytes < 4000 ? payload_bytes : 4000);
    char pad[4096];
    memset(pad, 'x', (size_t)plen);
    pad[plen] = '\0';
    for (;;) {
        long i = atomic_fetch_add(&next_task, 1);
        if (i >= total)
            break;
        int blen = snprintf(body, sizeof body, "{\"capability\":\"%s\",\"payload\":{\"p\":\"%s\"}}",
                            capability, pad);
        int rlen =
            snprintf(req, sizeof req,
                     "POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     blen, body);
        double t0 = now_us();
        if (write(fd, req, (size_t)rlen) != rlen || read_response(fd, resp, sizeof resp) != 201)
            atomic_fetch_add(&errors, 1);
        latencies[i] = now_us() - t0;
    }
    close(fd);
    return arg;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: submit_load SOCKET TOTAL [THREADS] [CAPABILITY] [PAYLOAD_BYTES]\n");
        return 2;
    }
    socket_path = argv[1];
    total = atol(argv[2]);
    int threads = argc > 3 ? atoi(argv[3]) : 8;
    if (argc > 4)
        capability = argv[4];
    if (argc > 5)
        payload_bytes = atol(argv[5]);
    latencies = calloc((size_t)total, sizeof *latencies);
    pthread_t tids[256];
    double start = now_us();
    for (int i = 0; i < threads && i < 256; i++)
        pthread_create(&tids[i], NULL, worker, NULL);
    for (int i = 0; i < threads && i < 256; i++)
        pthread_join(tids[i], NULL);
    double secs = (now_us() - start) / 1e6;
    qsort(latencies, (size_t)total, sizeof *latencies, cmp_double);
    printf("RESULT submitted=%ld threads=%d secs=%.2f tasks_per_s=%.0f ack_p50_us=%.0f "
           "ack_p99_us=%.0f errors=%ld\n",
           total, threads, secs, total / secs, latencies[total / 2],
           latencies[(size_t)(total * 0.99)], (long)errors);
    return errors ? 1 : 0;
}
