/* SPDX-License-Identifier: MIT
 * ids.c - id formatting, parsing and generation. */
#include "ids.h"
#include "error.h"

#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

void sw_id_format(char prefix, uint64_t id, char out[SW_ID_STRLEN])
{
    out[0] = prefix;
    out[1] = '_';
    for (int i = 0; i < 16; i++)
        out[2 + i] = hex_digits[(id >> (60 - 4 * i)) & 0xf];
    out[18] = '\0';
}

int sw_id_parse(char prefix, const char *s, uint64_t *id)
{
    if (s == NULL || s[0] != prefix || s[1] != '_' || strlen(s) != 18)
        return SW_EINVAL;
    uint64_t v = 0;
    for (int i = 2; i < 18; i++) {
        const char *p = strchr(hex_digits, s[i]);
        if (p == NULL || *p == '\0')
            return SW_EINVAL;
        v = (v << 4) | (uint64_t)(p - hex_digits);
    }
    *id = v;
    return 0;
}

uint64_t sw_id_next(uint64_t *last, int64_t wall_ms)
{
    uint64_t candidate = (uint64_t)wall_ms << 16;
    *last = candidate > *last ? candidate : *last + 1;
    return *last;
}
