/* SPDX-License-Identifier: MIT
 * output.c - rendering for the swarm CLI: JSON dumps, field views, aligned tables and
 * ages. Everything writes to a FILE the caller chooses; nothing here talks to the
 * daemon. */
#include "cli/output.h"

#include "core/alloc.h"
#include "core/error.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#define OUTPUT_LABEL_WIDTH 15 /* "capabilities:" plus two spaces */

void sw_output_json(FILE *out, const json_t *j)
{
    json_dumpf(j, out, JSON_INDENT(2) | JSON_ENCODE_ANY);
    fputc('\n', out);
}

void sw_output_json_compact(FILE *out, const json_t *j)
{
    if (j == NULL)
        fputs("null", out);
    else
        json_dumpf(j, out, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Writes compact JSON of v into out, cut with "..." when it does not fit. */
static void text_of_container(const json_t *v, char *out, size_t size)
{
    size_t n = json_dumpb(v, out, size - 1, JSON_COMPACT);
    char *whole;

    if (n > 0 && n < size) {
        out[n] = '\0';
        return;
    }
    whole = n > 0 && size > 4 ? json_dumps(v, JSON_COMPACT) : NULL;
    if (whole == NULL) {
        snprintf(out, size, "-");
        return;
    }
    n = size - 4;
    while (n > 0 && ((unsigned char)whole[n] & 0xC0) == 0x80)
        n--; /* do not cut a UTF-8 sequence */
    memcpy(out, whole, n);
    memcpy(out + n, "...", 4);
    sw_free(whole);
}

void sw_output_text(const json_t *v, char *out, size_t size)
{
    if (size == 0)
        return;
    if (v == NULL || json_is_null(v))
        snprintf(out, size, "-");
    else if (json_is_string(v))
        snprintf(out, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, size, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(out, size, "%s", json_is_true(v) ? "true" : "false");
    else
        text_of_container(v, out, size);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' '; /* keep one value on one line */
}

/* Reads ".123" (any number of digits) at *p as milliseconds. */
static int parse_fraction(const char **p, int *ms)
{
    int digits = 0;

    *ms = 0;
    if (**p != '.')
        return 0;
    for ((*p)++; isdigit((unsigned char)**p); (*p)++, digits++)
        if (digits < 3)
            *ms = *ms * 10 + (**p - '0');
    if (digits == 0)
        return SW_EINVAL;
    for (; digits < 3; digits++)
        *ms *= 10;
    return 0;
}

/* Reads "Z" or "+hh:mm" / "-hh:mm" at p as minutes east of UTC. */
static int parse_zone(const char *p, int *offset_min)
{
    int hours, minutes, len = 0;

    *offset_min = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 0;
    if (*p != '+' && *p != '-')
        return SW_EINVAL;
    if (sscanf(p + 1, "%2d:%2d%n", &hours, &minutes, &len) != 2 || p[1 + len] != '\0')
        return SW_EINVAL;
    *offset_min = (hours * 60 + minutes) * (*p == '-' ? -1 : 1);
    return 0;
}

int sw_output_parse_time(const char *text, int64_t *wall_ms)
{
    struct tm tm = {0};
    int len = 0, ms, offset_min;
    const char *p;

    if (text == NULL || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &len) != 6)
        return SW_EINVAL;
    p = text + len;
    if (parse_fraction(&p, &ms) || parse_zone(p, &offset_min))
        return SW_EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t secs = timegm(&tm);
    *wall_ms = ((int64_t)secs - (int64_t)offset_min * 60) * 1000 + ms;
    return 0;
}

/* Writes a span of time as its largest whole unit: "3s", "5m", "2h", "4d". */
static void format_span(int64_t ms, char *out, size_t size)
{
    long long s = ms > 0 ? (long long)(ms / 1000) : 0;

    if (s < 60)
        snprintf(out, size, "%llds", s);
    else if (s < 3600)
        snprintf(out, size, "%lldm", s / 60);
    else if (s < 86400)
        snprintf(out, size, "%lldh", s / 3600);
    else
        snprintf(out, size, "%lldd", s / 86400);
}

void sw_output_age(const json_t *v, int64_t now_ms, char *out, size_t size)
{
    int64_t then_ms;

    if (sw_output_parse_time(json_string_value(v), &then_ms))
        snprintf(out, size, "-");
    else
        format_span(now_ms - then_ms, out, size);
}

static void output_label(FILE *out, const char *label)
{
    int len = fprintf(out, "%s: ", label);
    for (; len < OUTPUT_LABEL_WIDTH; len++)
        fputc(' ', out);
}

void sw_output_field(FILE *out, const char *label, const char *value)
{
    output_label(out, label);
    fprintf(out, "%s\n", value);
}

void sw_output_field_text(FILE *out, const char *label, const json_t *obj, const char *key)
{
    char text[512];

    sw_output_text(json_object_get(obj, key), text, sizeof text);
    sw_output_field(out, label, text);
}

void sw_output_field_json(FILE *out, const char *label, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    output_label(out, label);
    if (v)
        sw_output_json_compact(out, v);
    else
        fputc('-', out);
    fputc('\n', out);
}

void sw_output_field_time(FILE *out, const char *label, const json_t *obj, const char *key,
                          int64_t now_ms)
{
    const json_t *v = json_object_get(obj, key);
    int64_t then_ms;
    char span[32];

    if (sw_output_parse_time(json_string_value(v), &then_ms)) {
        sw_output_field_text(out, label, obj, key);
        return;
    }
    format_span(then_ms > now_ms ? then_ms - now_ms : now_ms - then_ms, span, sizeof span);
    output_label(out, label);
    fprintf(out, "%s (%s%s%s)\n", json_string_value(v), then_ms > now_ms ? "in " : "", span,
            then_ms > now_ms ? "" : " ago");
}

int sw_table_init(struct sw_table *t, const char *const *header, int ncols)
{
    memset(t, 0, sizeof *t);
    if (ncols < 1 || ncols > SW_TABLE_MAX_COLS)
        return SW_EINVAL;
    t->ncols = ncols;
    return sw_table_add(t, header);
}

int sw_table_add(struct sw_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **grown = sw_realloc(t->cells, cap * (size_t)t->ncols * sizeof *grown);
        if (grown == NULL)
            return SW_ENOMEM;
        t->cells = grown;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = sw_strdup(cells[i] ? cells[i] : "-");
        if (row[i] == NULL) {
            while (i-- > 0)
                sw_free(row[i]);
            return SW_ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

/* Columns taken on a terminal: UTF-8 continuation bytes take none. */
static size_t text_width(const char *s)
{
    size_t width = 0;
    for (; *s; s++)
        width += ((unsigned char)*s & 0xC0) != 0x80;
    return width;
}

void sw_table_print(const struct sw_table *t, FILE *out)
{
    size_t widths[SW_TABLE_MAX_COLS] = {0};

    for (size_t r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            size_t w = text_width(t->cells[r * (size_t)t->ncols + c]);
            widths[c] = w > widths[c] ? w : widths[c];
        }
    for (size_t r = 0; r < t->nrows; r++) {
        char **row = t->cells + r * (size_t)t->ncols;
        for (int c = 0; c < t->ncols; c++) {
            fputs(row[c], out);
            if (c + 1 == t->ncols)
                break;
            for (size_t pad = text_width(row[c]); pad < widths[c] + 2; pad++)
                fputc(' ', out);
        }
        fputc('\n', out);
    }
}

void sw_table_free(struct sw_table *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        sw_free(t->cells[i]);
    sw_free(t->cells);
    memset(t, 0, sizeof *t);
}
