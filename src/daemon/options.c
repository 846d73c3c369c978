/* SPDX-License-Identifier: MIT
 * options.c - the table of swarmd options. */
#include "options.h"

#include <stddef.h>

#define OPT(field) offsetof(struct sw_options, field)

const struct sw_config_entry sw_options_table[] = {
    {"home", "SWARM_HOME", SW_CONFIG_STRING, ".swarm", OPT(home), NULL, 0, 0,
     "home directory: database, socket, lock file"},
    {"config", "SWARMD_CONFIG", SW_CONFIG_STRING, "", OPT(config), NULL, 0, 0,
     "config file of key = value lines (keys as the flags without --)"},
    {"listen", "SWARMD_LISTEN", SW_CONFIG_STRING, "", OPT(listen), NULL, 0, 0,
     "also serve HTTP on TCP HOST:PORT (port 0 = any); non-loopback needs --admin-token"},
    {"admin-token", "SWARMD_ADMIN_TOKEN", SW_CONFIG_STRING, "", OPT(admin_token), NULL, 0, 0,
     "bearer token required on TCP for every call but an agent's own"},
    {"log-level", "SWARMD_LOG_LEVEL", SW_CONFIG_STRING, "info", OPT(log_level), NULL, 0, 0,
     "error, warn, info or debug"},
    {"log-file", "SWARMD_LOG_FILE", SW_CONFIG_STRING, "-", OPT(log_file), NULL, 0, 0,
     "log file (- = stderr); reopened on SIGHUP"},
    {"sync", "SWARMD_SYNC", SW_CONFIG_ENUM, "full", OPT(sync), "full|normal|off", 0, 0,
     "SQLite synchronous mode: full = flush every commit (durable), normal, off"},
    {"max-payload", "SWARMD_MAX_PAYLOAD", SW_CONFIG_SIZE, "1MiB", OPT(max_payload), NULL, 16,
     1LL << 30, "largest task payload or result (bytes, KiB, MiB)"},
    {"heartbeat", "SWARMD_HEARTBEAT", SW_CONFIG_DURATION, "5s", OPT(heartbeat_ms), NULL, 10,
     3600000, "heartbeat interval asked of agents; 3 missed = lost"},
    {"lease", "SWARMD_LEASE", SW_CONFIG_DURATION, "30s", OPT(lease_ms), NULL, 10, 86400000,
     "lease length, renewed by each heartbeat"},
    {"max-wait", "SWARMD_MAX_WAIT", SW_CONFIG_DURATION, "60s", OPT(max_wait_ms), NULL, 0, 3600000,
     "longest long-poll: a larger wait_ms is clamped to it"},
    {"default-attempts", "SWARMD_DEFAULT_ATTEMPTS", SW_CONFIG_INT, "3", OPT(default_attempts), NULL,
     1, 1000, "max_attempts of a task that does not say"},
    {"backoff-initial", "SWARMD_BACKOFF_INITIAL", SW_CONFIG_DURATION, "1s", OPT(backoff_initial_ms),
     NULL, 0, 86400000, "default first retry delay"},
    {"backoff-max", "SWARMD_BACKOFF_MAX", SW_CONFIG_DURATION, "5m", OPT(backoff_max_ms), NULL, 0,
     86400000, "default longest retry delay"},
    {"task-cache", "SWARMD_TASK_CACHE", SW_CONFIG_INT, "10000", OPT(task_cache), NULL, 0, 100000000,
     "finished tasks kept in memory (older ones are read from the store)"},
    {"task-retention", "SWARMD_TASK_RETENTION", SW_CONFIG_DURATION, "0", OPT(task_retention_ms),
     NULL, 0, 3650LL * 86400000,
     "delete finished tasks created longer ago than this (0 = keep them all)"},
    {"max-connections", "SWARMD_MAX_CONNECTIONS", SW_CONFIG_INT, "4096", OPT(max_connections), NULL,
     1, 1000000, "open HTTP connections per listener"},
    {"max-header", "SWARMD_MAX_HEADER", SW_CONFIG_SIZE, "64KiB", OPT(max_header_bytes), NULL, 4096,
     16 << 20, "memory per connection for the request line and headers"},
    {"shutdown-grace", "SWARMD_SHUTDOWN_GRACE", SW_CONFIG_DURATION, "10s", OPT(shutdown_grace_ms),
     NULL, 0, 3600000, "time given to in-flight requests on SIGTERM"},
    {NULL, NULL, 0, NULL, 0, NULL, 0, 0, NULL},
};
