/* SPDX-License-Identifier: MIT
 * options.h - swarmd's configuration table: one entry per option (flag, env var,
 * config-file key, default, help), the struct it fills, and its translation into
 * the server's configuration. */
#ifndef SW_OPTIONS_H
#define SW_OPTIONS_H

#include "api/server.h"
#include "core/config.h"

#include <stdint.h>

struct sw_options {
    char *home;
    char *config;
    char *listen;
    char *admin_token;
    char *log_level;
    char *log_file;
    int sync;
    int64_t max_payload;
    int64_t heartbeat_ms;
    int64_t lease_ms;
    int64_t max_wait_ms;
    int64_t default_attempts;
    int64_t backoff_initial_ms;
    int64_t backoff_max_ms;
    int64_t task_cache;
    int64_t task_retention_ms;
    int64_t events_retention_ms;
    int64_t events_max;
    int64_t events_window;
    int64_t memory_max_key;
    int64_t memory_max_value;
    int64_t memory_max_keys;
    int64_t memory_history;
    int64_t max_connections;
    int64_t max_header_bytes;
    int64_t shutdown_grace_ms;
    int64_t breaker_failures;
    int64_t breaker_rate;
    int64_t breaker_window;
    int64_t breaker_cooldown_ms;
    int64_t breaker_max_cooldown_ms;
    int64_t rate_limit;
    int64_t rate_burst;
    int no_provider; /* 0 refuse, 1 wait */
};

extern const struct sw_config_entry sw_options_table[];

#endif
