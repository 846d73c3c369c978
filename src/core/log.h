/* SPDX-License-Identifier: MIT
 * log.h - one logfmt line per event: ts, level, sub(system), req (request id when one
 * is being handled), then the caller's key=value pairs. The level is checked before
 * anything is formatted. */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stdint.h>

enum sw_log_level { SW_LOG_ERROR = 0, SW_LOG_WARN, SW_LOG_INFO, SW_LOG_DEBUG };

extern int sw_log_level;
/* The request being served (0 = none); set by the HTTP layer around a handler. */
extern uint64_t sw_log_request_id;

/* Parses "error|warn|info|debug"; 0 or SW_EINVAL. */
int sw_log_level_parse(const char *name, int *level);
/* Sends lines to path (NULL or "-" = stderr). 0 or SW_EIO. */
int sw_log_open(const char *path);
/* Reopens the same path (SIGHUP, after log rotation). */
int sw_log_reopen(void);
void sw_log_close(void);

void sw__log(int level, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fmt is logfmt: msg="started" port=%d */
#define sw_log(level, sub, ...)                                                                    \
    do {                                                                                           \
        if ((level) <= sw_log_level)                                                               \
            sw__log((level), (sub), __VA_ARGS__);                                                  \
    } while (0)
#define sw_log_error(sub, ...) sw_log(SW_LOG_ERROR, sub, __VA_ARGS__)
#define sw_log_warn(sub, ...)  sw_log(SW_LOG_WARN, sub, __VA_ARGS__)
#define sw_log_info(sub, ...)  sw_log(SW_LOG_INFO, sub, __VA_ARGS__)
#define sw_log_debug(sub, ...) sw_log(SW_LOG_DEBUG, sub, __VA_ARGS__)

#endif
