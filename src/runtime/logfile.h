/* SPDX-License-Identifier: MIT
 * logfile.h - size-rotated log files (an agent's captured output): appends with
 * synchronous writes on the loop thread (the page cache makes them cheap), renames
 * path -> path.1 -> ... -> path.KEEP when the file would grow past its ceiling, and
 * reads back the last lines across the rotation boundary. */
#ifndef SW_LOGFILE_H
#define SW_LOGFILE_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

struct sw_logfile;

/* Opens (creating directories as needed, mode 0600 files, 0700 dirs) path for append;
 * when a write would take it past max_bytes (<= 0: never) it is renamed path.1
 * (path.1 -> path.2 ... up to keep files, the oldest removed; keep 0 = none kept) and
 * a new path is started. A single write larger than max_bytes goes whole into a fresh
 * file. *out: caller closes with sw_logfile_close. 0, SW_EINVAL, SW_ENOMEM or SW_EIO. */
int sw_logfile_open(const char *path, int64_t max_bytes, int keep, struct sw_logfile **out);
/* Appends all of data. 0 or SW_EIO. */
int sw_logfile_write(struct sw_logfile *lf, const char *data, size_t len);
/* Bytes in the current file. */
int64_t sw_logfile_size(const struct sw_logfile *lf);
/* Borrowed, valid until sw_logfile_close. */
const char *sw_logfile_path(const struct sw_logfile *lf);
void sw_logfile_close(struct sw_logfile *lf);
/* Appends the last n lines of path (and of path.1 if path has fewer) to out, oldest
 * first, each ending in '\n'. Bounded by out->max: the oldest lines that do not fit are
 * left out (if not even the newest fits, its end is kept). 0, SW_ENOT_FOUND (no file at
 * path), SW_EINVAL, SW_ENOMEM or SW_EIO. */
int sw_logfile_tail(const char *path, int n, struct sw_buf *out);

#endif
