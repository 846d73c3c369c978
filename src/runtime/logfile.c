/* SPDX-License-Identifier: MIT
 * logfile.c - size-rotated log files. The size is tracked from fstat at open plus the
 * bytes written, so the rotation check costs no system call. The tail reader never
 * reads more of a file than the room left in the caller's buffer: lines that do not
 * fit would be left out anyway. */
#include "logfile.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOGFILE_MAX_KEEP 1000

struct sw_logfile {
    char *path;
    char *scratch; /* path.N names */
    size_t scratch_size;
    int fd;
    int64_t size;
    int64_t max_bytes;
    int keep;
};

/* The last lines of one file, in memory. */
struct tail_part {
    char *data;
    size_t start, len; /* the lines are data[start, len) */
    int lines;
    int complete; /* the whole file was read */
};

/* Creates the directories above path, mode 0700. */
static int logfile_mkdirs(const char *path)
{
    char *copy = sw_strdup(path);
    int rc = 0;

    if (copy == NULL)
        return SW_ENOMEM;
    for (char *slash = strchr(copy + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
            rc = SW_EIO;
            goto out;
        }
        *slash = '/';
    }
out:
    sw_free(copy);
    return rc;
}

static int logfile_reopen(struct sw_logfile *lf)
{
    struct stat st;

    lf->fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (lf->fd < 0)
        return SW_EIO;
    if (fstat(lf->fd, &st) < 0) {
        close(lf->fd);
        lf->fd = -1;
        return SW_EIO;
    }
    lf->size = st.st_size;
    return 0;
}

static const char *logfile_name(struct sw_logfile *lf, int index)
{
    snprintf(lf->scratch, lf->scratch_size, "%s.%d", lf->path, index);
    return lf->scratch;
}

static int logfile_rename(struct sw_logfile *lf, int from, int to)
{
    char *from_name = sw_strdup(from == 0 ? lf->path : logfile_name(lf, from));
    int rc = 0;

    if (from_name == NULL)
        return SW_ENOMEM;
    if (rename(from_name, logfile_name(lf, to)) < 0 && errno != ENOENT)
        rc = SW_EIO;
    sw_free(from_name);
    return rc;
}

/* path.KEEP is removed, path.i becomes path.i+1, path becomes path.1. */
static int logfile_rotate(struct sw_logfile *lf)
{
    int rc = 0;

    if (lf->fd >= 0)
        close(lf->fd);
    lf->fd = -1;
    if (lf->keep == 0) {
        if (unlink(lf->path) < 0 && errno != ENOENT)
            rc = SW_EIO;
    } else {
        if (unlink(logfile_name(lf, lf->keep)) < 0 && errno != ENOENT)
            rc = SW_EIO;
        for (int i = lf->keep - 1; i >= 0 && rc == 0; i--)
            rc = logfile_rename(lf, i, i + 1);
    }
    if (rc == 0)
        rc = logfile_reopen(lf);
    return rc;
}

int sw_logfile_open(const char *path, int64_t max_bytes, int keep, struct sw_logfile **out)
{
    struct sw_logfile *lf;
    int rc;

    *out = NULL;
    if (path == NULL || path[0] == '\0' || keep < 0 || keep > LOGFILE_MAX_KEEP)
        return SW_EINVAL;
    lf = sw_calloc(1, sizeof *lf);
    if (lf == NULL)
        return SW_ENOMEM;
    lf->fd = -1;
    lf->max_bytes = max_bytes;
    lf->keep = keep;
    lf->path = sw_strdup(path);
    lf->scratch_size = strlen(path) + 16;
    lf->scratch = sw_malloc(lf->scratch_size);
    if (lf->path == NULL || lf->scratch == NULL) {
        rc = SW_ENOMEM;
        goto out;
    }
    rc = logfile_mkdirs(path);
    if (rc == 0)
        rc = logfile_reopen(lf);
out:
    if (rc) {
        sw_logfile_close(lf);
        return rc;
    }
    *out = lf;
    return 0;
}

int sw_logfile_write(struct sw_logfile *lf, const char *data, size_t len)
{
    int rc;

    if (lf->fd < 0 && (rc = logfile_reopen(lf)) != 0)
        return rc;
    if (lf->max_bytes > 0 && lf->size > 0 && (int64_t)len > lf->max_bytes - lf->size) {
        rc = logfile_rotate(lf);
        if (rc)
            return rc;
    }
    while (len > 0) {
        ssize_t n = write(lf->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return SW_EIO;
        data += n;
        len -= (size_t)n;
        lf->size += n;
    }
    return 0;
}

int64_t sw_logfile_size(const struct sw_logfile *lf)
{
    return lf->size;
}

const char *sw_logfile_path(const struct sw_logfile *lf)
{
    return lf->path;
}

void sw_logfile_close(struct sw_logfile *lf)
{
    if (lf == NULL)
        return;
    if (lf->fd >= 0)
        close(lf->fd);
    sw_free(lf->path);
    sw_free(lf->scratch);
    sw_free(lf);
}

/* Picks the last `want` lines out of data[0, len); when data is only the end of the
 * file, its first (cut) line is dropped unless it is all there is. */
static void tail_pick(struct tail_part *part, int want)
{
    const char *data = part->data;
    size_t len = part->len;
    int ends_nl = len > 0 && data[len - 1] == '\n';
    int newlines = 0;

    part->start = 0;
    part->lines = 0;
    if (len == 0)
        return;
    for (size_t i = len - (size_t)ends_nl; i-- > 0;) {
        if (data[i] != '\n')
            continue;
        if (++newlines == want) {
            part->start = i + 1;
            part->lines = want;
            return;
        }
    }
    part->lines = newlines + 1;
    if (!part->complete && newlines > 0) {
        const char *first = memchr(data, '\n', len);
        part->start = (size_t)(first - data) + 1;
        part->lines = newlines;
    }
}

/* Bytes part adds to the output: its lines, and a '\n' after an unterminated last one. */
static size_t tail_size(const struct tail_part *part)
{
    size_t len = part->len - part->start;

    return len == 0 ? 0 : len + (part->data[part->len - 1] != '\n');
}

/* Cuts part down to room: whole lines from the oldest, then (the newest line alone)
 * bytes from its start. */
static void tail_fit(struct tail_part *part, size_t room)
{
    const char *nl;

    while (tail_size(part) > room) {
        part->complete = 0; /* no room left for older lines */
        nl = memchr(part->data + part->start, '\n', part->len - part->start - 1);
        if (nl) {
            part->start = (size_t)(nl - part->data) + 1;
            part->lines--;
        } else {
            part->start++;
        }
    }
}

/* Reads at most room + 1 bytes from the end of path (the extra byte tells whether the
 * first line read is whole) and keeps the last `want` lines that fit in room. */
static int tail_read(const char *path, int want, size_t room, struct tail_part *part)
{
    struct stat st;
    size_t take, got = 0, room_read = room;
    int fd, rc = 0;

    memset(part, 0, sizeof *part);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? SW_ENOT_FOUND : SW_EIO;
    if (fstat(fd, &st) < 0) {
        rc = SW_EIO;
        goto out;
    }
    if (room < SIZE_MAX)
        room_read = room + 1;
    take = (uint64_t)st.st_size < room_read ? (size_t)st.st_size : room_read;
    part->data = sw_malloc(take + 1);
    if (part->data == NULL) {
        rc = SW_ENOMEM;
        goto out;
    }
    while (got < take) {
        ssize_t n = pread(fd, part->data + got, take - got, st.st_size - (off_t)(take - got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the file shrank: keep what was read */
        got += (size_t)n;
    }
    part->len = got;
    part->complete = got == (size_t)st.st_size;
    tail_pick(part, want);
    tail_fit(part, room);
out:
    close(fd);
    return rc;
}

static int tail_append(struct sw_buf *out, const struct tail_part *part)
{
    size_t len = part->len - part->start;
    int rc;

    if (len == 0)
        return 0;
    rc = sw_buf_append(out, part->data + part->start, len);
    if (rc == 0 && part->data[part->len - 1] != '\n')
        rc = sw_buf_append(out, "\n", 1);
    return rc;
}

int sw_logfile_tail(const char *path, int n, struct sw_buf *out)
{
    struct tail_part current = {0}, previous = {0};
    size_t room = out->max > out->len ? out->max - out->len : 0;
    char *older = NULL;
    int rc;

    if (path == NULL || n < 0)
        return SW_EINVAL;
    rc = tail_read(path, n, room, &current);
    if (rc)
        goto out;
    if (current.lines < n && current.complete && room > tail_size(&current)) {
        size_t older_size = strlen(path) + 3;
        older = sw_malloc(older_size);
        if (older == NULL) {
            rc = SW_ENOMEM;
            goto out;
        }
        snprintf(older, older_size, "%s.1", path);
        rc = tail_read(older, n - current.lines, room - tail_size(&current), &previous);
        if (rc == SW_ENOT_FOUND)
            rc = 0;
        if (rc)
            goto out;
    }
    if (n > 0) {
        rc = tail_append(out, &previous);
        if (rc == 0)
            rc = tail_append(out, &current);
    }
out:
    sw_free(current.data);
    sw_free(previous.data);
    sw_free(older);
    return rc;
}
