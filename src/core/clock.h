/* SPDX-License-Identifier: MIT
 * clock.h - time sources: monotonic milliseconds/microseconds for deadlines and
 * wall-clock milliseconds for stored timestamps, and RFC 3339 formatting. */
#ifndef SW_CLOCK_H
#define SW_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t sw_clock_mono_ms(void);
int64_t sw_clock_mono_us(void);
int64_t sw_clock_wall_ms(void);
/* Writes "2026-11-23T16:00:00.123Z" into out (at least 32 bytes). */
void sw_clock_format_rfc3339(int64_t wall_ms, char *out, size_t size);

#endif
