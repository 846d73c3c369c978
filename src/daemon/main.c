/* SPDX-License-Identifier: MIT
 * main.c - swarmd: reads the configuration table, prepares the home directory (lock,
 * pid file), starts the server on one libuv loop and runs it until a signal stops it. */
#include "options.h"
#include "api/listen.h"
#include "api/server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: swarmd [OPTIONS]\n\n"
                 "swarmd runs swarms of agents: it stores tasks durably, leases them to agents\n"
                 "and serves the HTTP API on <home>/swarm.sock (and TCP with --listen).\n\n"
                 "Options (each also as an environment variable and a config-file key;\n"
                 "flags override the environment, which overrides the config file):\n");
    sw_config_print_help(sw_options_table, out);
    fprintf(out,
            "  %-34s print this help\n  %-34s print the version\n"
            "  %-34s print a commented config file with every option\n",
            "--help", "--version", "--print-config");
}

/* Defaults, then the config file, then the environment, then the flags. Exit code or 0. */
static int load_options(struct sw_options *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return -1;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("swarmd %s\n", SW_VERSION);
            return -1;
        }
        if (!strcmp(argv[i], "--print-config")) {
            sw_config_print_reference(sw_options_table, stdout);
            return -1;
        }
    }
    int next = argc;
    int rc = sw_config_defaults(sw_options_table, o);
    rc = rc ? rc : sw_config_load_env(sw_options_table, o);
    rc = rc ? rc : sw_config_load_args(sw_options_table, o, argc, argv, &next);
    if (rc == 0 && o->config && *o->config) {
        rc = sw_config_load_file(sw_options_table, o, o->config);
        rc = rc ? rc : sw_config_load_env(sw_options_table, o);
        rc = rc ? rc : sw_config_load_args(sw_options_table, o, argc, argv, &next);
    }
    if (rc == 0 && next < argc) {
        fprintf(stderr, "swarmd: unexpected argument \"%s\" (see swarmd --help)\n", argv[next]);
        return 2;
    }
    int level;
    if (rc == 0 && sw_log_level_parse(o->log_level, &level)) {
        fprintf(stderr,
                "swarmd: bad value \"%s\" for log-level: expected error, warn, info or "
                "debug\n",
                o->log_level);
        return 2;
    }
    if (rc) {
        fprintf(stderr, "swarmd: %s (see swarmd --help)\n", sw_config_error());
        return 2;
    }
    if (o->listen && *o->listen && sw_listen_check(o->listen)) {
        fprintf(stderr,
                "swarmd: bad value \"%s\" for listen: expected HOST:PORT with a port "
                "from 0 to 65535, such as 127.0.0.1:7070 (see swarmd --help)\n",
                o->listen);
        return 2;
    }
    sw_log_level = level;
    return 0;
}

static int prepare_home(const char *home, int *lock_fd)
{
    if (mkdir(home, 0700) && errno != EEXIST) {
        fprintf(stderr, "swarmd: cannot create home %s: %s\n", home, strerror(errno));
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/swarmd.lock", home);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
        fprintf(stderr, "swarmd: another swarmd is running with home %s (%s)\n", home,
                fd < 0 ? strerror(errno) : "its lock is held");
        if (fd >= 0)
            close(fd);
        return 1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) == 0 && write(fd, pid, (size_t)n) != n)
        sw_log_warn("daemon", "msg=\"cannot write pid into lock file\"");
    *lock_fd = fd;
    return 0;
}

static void fill_server_config(const struct sw_options *o, struct sw_server_config *c,
                               char *db_path, char *socket_path, size_t size)
{
    snprintf(db_path, size, "%s/swarmd.db", o->home);
    snprintf(socket_path, size, "%s/swarm.sock", o->home);
    memset(c, 0, sizeof *c);
    c->home = o->home;
    c->db_path = db_path;
    c->socket_path = socket_path;
    c->listen = o->listen;
    c->admin_token = o->admin_token;
    c->sync = o->sync;
    c->max_payload = o->max_payload;
    c->max_wait_ms = o->max_wait_ms;
    c->shutdown_grace_ms = o->shutdown_grace_ms;
    c->max_connections = o->max_connections;
    c->max_header_bytes = o->max_header_bytes;
    c->task_retention_ms = o->task_retention_ms;
    c->events_retention_ms = o->events_retention_ms;
    c->events_max = o->events_max;
    c->events_window = o->events_window;
    c->memory_limits.max_key = (size_t)o->memory_max_key;
    c->memory_limits.max_value = (size_t)o->memory_max_value;
    c->memory_limits.max_keys_per_ns = (size_t)o->memory_max_keys;
    c->memory_history = o->memory_history;
    c->sched.lease_ms = o->lease_ms;
    c->sched.heartbeat_ms = o->heartbeat_ms;
    c->sched.lost_after = 3;
    c->sched.default_max_attempts = (int)o->default_attempts;
    c->sched.default_backoff.initial_ms = o->backoff_initial_ms;
    c->sched.default_backoff.max_ms =
        o->backoff_max_ms > o->backoff_initial_ms ? o->backoff_max_ms : o->backoff_initial_ms;
    c->sched.default_backoff.multiplier = 2.0;
    c->sched.terminal_cache = (size_t)o->task_cache;
    c->sched.breaker.failures = (int)o->breaker_failures;
    c->sched.breaker.rate_percent = (int)o->breaker_rate;
    c->sched.breaker.window = (int)o->breaker_window;
    c->sched.breaker.cooldown_ms = o->breaker_cooldown_ms;
    c->sched.breaker.max_cooldown_ms = o->breaker_max_cooldown_ms;
    c->rate_limit = o->rate_limit;
    c->rate_burst = o->rate_burst;
    c->wait_for_provider = o->no_provider == 1;
}

int main(int argc, char **argv)
{
    struct sw_options o;
    memset(&o, 0, sizeof o);
    sw_alloc_install_jansson();
    uv_replace_allocator(sw_malloc, sw_realloc, sw_calloc, sw_free);
    int code = load_options(&o, argc, argv);
    if (code) {
        sw_config_free(sw_options_table, &o);
        return code < 0 ? 0 : code;
    }
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphaned grandchildren of agents are ours to reap */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max; /* 4 descriptors per managed agent, 1 per client */
        setrlimit(RLIMIT_NOFILE, &files);
    }
    umask(077);
    if (sw_log_open(o.log_file)) {
        fprintf(stderr, "swarmd: cannot open log file %s: %s\n", o.log_file, strerror(errno));
        sw_config_free(sw_options_table, &o);
        return 1;
    }
    int lock_fd = -1;
    if (prepare_home(o.home, &lock_fd)) {
        sw_config_free(sw_options_table, &o);
        return 1;
    }
    char db_path[4096], socket_path[4096];
    struct sw_server_config cfg;
    fill_server_config(&o, &cfg, db_path, socket_path, sizeof db_path);
    uv_loop_t loop;
    uv_loop_init(&loop);
    static struct sw_server server;
    int rc = sw_server_start(&server, &loop, &cfg);
    if (rc) {
        sw_log_error("daemon", "msg=\"start-up failed\" error=%s", sw_strerror_code(rc));
        code = 1;
        sw_server_shutdown(&server);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    sw_server_free(&server);
    uv_run(&loop, UV_RUN_DEFAULT); /* close callbacks of what was released last */
    if (uv_loop_close(&loop))
        sw_log_warn("daemon", "msg=\"event loop closed with handles still open\"");
    close(lock_fd);
    sw_log_close();
    sw_config_free(sw_options_table, &o);
    return code;
}
