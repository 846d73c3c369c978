/* SPDX-License-Identifier: MIT
 * duration.h - durations written with a unit: "250ms", "30s", "5m", "1h", "7d";
 * a bare number is milliseconds. Also sizes: "1MiB", "512k", "64". */
#ifndef SW_DURATION_H
#define SW_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parses s into *out_ms. 0, or SW_EINVAL for an empty, negative, unitless-garbage or
 * overflowing value. Several terms may follow each other: "1m30s". */
int sw_duration_parse(const char *s, int64_t *out_ms);
/* Formats ms as the shortest exact form ("1500ms", "30s", "5m"). */
void sw_duration_format(int64_t ms, char *out, size_t size);
/* Parses a byte size: bare bytes or a suffix k/K/KiB, m/M/MiB, g/G/GiB (all 1024-based). */
int sw_size_parse(const char *s, int64_t *out_bytes);

#endif
