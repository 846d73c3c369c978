/* SPDX-License-Identifier: MIT
 * ids.h - entity ids: a 64-bit number shown as a one-letter prefix, '_' and 16 hex
 * digits ("t_0193a4b2c8d90001"). Numbers grow with time, so ids sort by creation. */
#ifndef SW_IDS_H
#define SW_IDS_H

#include <stddef.h>
#include <stdint.h>

#define SW_ID_STRLEN 19 /* prefix + '_' + 16 hex + NUL */

void sw_id_format(char prefix, uint64_t id, char out[SW_ID_STRLEN]);
/* Parses "p_<16 hex>"; 0 or SW_EINVAL (also when the prefix differs). */
int sw_id_parse(char prefix, const char *s, uint64_t *id);

/* Next id of a generator: max(last + 1, wall_ms << 16), so ids stay unique and
 * ordered across restarts as long as last is restored. */
uint64_t sw_id_next(uint64_t *last, int64_t wall_ms);

#endif
