/* SPDX-License-Identifier: MIT
 * duration.c - duration and size parsing. */
#include "duration.h"
#include "error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct unit {
    const char *name;
    int64_t factor;
};

static const struct unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {NULL, 0},
};

static const struct unit size_units[] = {
    {"", 1},        {"k", 1024},      {"K", 1024},      {"KiB", 1024},   {"KB", 1024},
    {"m", 1 << 20}, {"M", 1 << 20},   {"MiB", 1 << 20}, {"MB", 1 << 20}, {"g", 1 << 30},
    {"G", 1 << 30}, {"GiB", 1 << 30}, {"GB", 1 << 30},  {NULL, 0},
};

/* Reads digits at *p into *value; 0 or SW_EINVAL on no digits or overflow. */
static int read_number(const char **p, int64_t *value)
{
    int64_t v = 0;
    const char *s = *p;
    if (!isdigit((unsigned char)*s))
        return SW_EINVAL;
    while (isdigit((unsigned char)*s)) {
        if (v > (INT64_MAX - 9) / 10)
            return SW_EINVAL;
        v = v * 10 + (*s++ - '0');
    }
    *p = s;
    *value = v;
    return 0;
}

static int lookup_unit(const struct unit *units, const char *name, size_t len, int64_t *factor)
{
    for (const struct unit *u = units; u->name; u++) {
        if (strlen(u->name) == len && memcmp(u->name, name, len) == 0) {
            *factor = u->factor;
            return 0;
        }
    }
    return SW_EINVAL;
}

int sw_duration_parse(const char *s, int64_t *out_ms)
{
    int64_t total = 0;
    if (s == NULL || *s == '\0')
        return SW_EINVAL;
    while (*s) {
        int64_t value, factor = 1;
        if (read_number(&s, &value))
            return SW_EINVAL;
        const char *unit = s;
        while (isalpha((unsigned char)*s))
            s++;
        if (s > unit && lookup_unit(duration_units, unit, (size_t)(s - unit), &factor))
            return SW_EINVAL;
        if (s == unit && *s != '\0')
            return SW_EINVAL;
        if (value > (INT64_MAX - total) / factor)
            return SW_EINVAL;
        total += value * factor;
    }
    *out_ms = total;
    return 0;
}

void sw_duration_format(int64_t ms, char *out, size_t size)
{
    if (ms != 0 && ms % 86400000 == 0)
        snprintf(out, size, "%lldd", (long long)(ms / 86400000));
    else if (ms != 0 && ms % 3600000 == 0)
        snprintf(out, size, "%lldh", (long long)(ms / 3600000));
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(out, size, "%lldm", (long long)(ms / 60000));
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(out, size, "%llds", (long long)(ms / 1000));
    else
        snprintf(out, size, "%lldms", (long long)ms);
}

int sw_size_parse(const char *s, int64_t *out_bytes)
{
    int64_t value, factor;
    if (s == NULL || read_number(&s, &value))
        return SW_EINVAL;
    if (lookup_unit(size_units, s, strlen(s), &factor))
        return SW_EINVAL;
    if (value > INT64_MAX / factor)
        return SW_EINVAL;
    *out_bytes = value * factor;
    return 0;
}
