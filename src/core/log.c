/* SPDX-License-Identifier: MIT
 * log.c - the logfmt logger. Single-threaded use on the loop; the store's writer
 * thread logs only through one write(2) per line, which is atomic for short lines. */
#include "log.h"
#include "alloc.h"
#include "clock.h"
#include "error.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int sw_log_level = SW_LOG_INFO;
uint64_t sw_log_request_id;

static int log_fd = 2;
static char *log_path;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int sw_log_level_parse(const char *name, int *level)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    }
    return SW_EINVAL;
}

int sw_log_open(const char *path)
{
    sw_log_close();
    if (path == NULL || strcmp(path, "-") == 0)
        return 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return SW_EIO;
    log_path = sw_strdup(path);
    if (log_path == NULL) {
        close(fd);
        return SW_ENOMEM;
    }
    log_fd = fd;
    return 0;
}

int sw_log_reopen(void)
{
    if (log_path == NULL)
        return 0;
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return SW_EIO;
    dup2(fd, log_fd);
    close(fd);
    return 0;
}

void sw_log_close(void)
{
    if (log_fd > 2)
        close(log_fd);
    log_fd = 2;
    sw_free(log_path);
    log_path = NULL;
}

void sw__log(int level, const char *sub, const char *fmt, ...)
{
    char line[2048], ts[40];
    sw_clock_format_rfc3339(sw_clock_wall_ms(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "ts=%s level=%s sub=%s ", ts, level_names[level], sub);
    if (sw_log_request_id != 0 && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "req=%llu ",
                      (unsigned long long)sw_log_request_id);
    va_list ap;
    va_start(ap, fmt);
    if (n < (int)sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t rc = write(log_fd, line, (size_t)n);
    (void)rc;
}
