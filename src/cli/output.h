/* SPDX-License-Identifier: MIT
 * output.h - how swarm shows what the daemon sends: JSON (pretty for -o json, compact
 * inside human views), "key: value" views of one object, tables with aligned columns
 * and a header, and timestamps as ages ("3s", "5m"). */
#ifndef SW_CLI_OUTPUT_H
#define SW_CLI_OUTPUT_H

#define SW_TABLE_MAX_COLS 16

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A table being built: cells are copied in; row 0 is the header. */
struct sw_table {
    int ncols;
    char **cells; /* nrows * ncols strings, each owned */
    size_t nrows;
    size_t cap; /* rows allocated */
};

/* Prints j with a 2-space indent and a final newline. */
void sw_output_json(FILE *out, const json_t *j);
/* Prints j as compact JSON, without a newline; "null" for NULL. */
void sw_output_json_compact(FILE *out, const json_t *j);

/* Writes v as one table cell or field: a string as itself, numbers and booleans as
 * text, "-" for null or absent, compact JSON for arrays and objects (cut to size,
 * ending in "..."). */
void sw_output_text(const json_t *v, char *out, size_t size);
/* Parses an RFC 3339 time ("2026-11-23T16:00:00.123Z") into wall-clock ms. 0 or
 * SW_EINVAL. */
int sw_output_parse_time(const char *text, int64_t *wall_ms);
/* Writes how long before now_ms the RFC 3339 string v was: "3s", "5m", "2h", "4d";
 * "-" when v is absent or not a time. */
void sw_output_age(const json_t *v, int64_t now_ms, char *out, size_t size);

/* Prints "label:" padded to one width, then value and a newline. */
void sw_output_field(FILE *out, const char *label, const char *value);
/* Prints obj[key] as a field in text form (see sw_output_text). */
void sw_output_field_text(FILE *out, const char *label, const json_t *obj, const char *key);
/* Prints obj[key] as a field in compact JSON, whole; "-" when absent. */
void sw_output_field_json(FILE *out, const char *label, const json_t *obj, const char *key);
/* Prints a time field: "2026-11-23T16:00:00.123Z (3s ago)" or "(in 3s)" for a time
 * to come; a value that is not a time as text ("-" when absent). */
void sw_output_field_time(FILE *out, const char *label, const json_t *obj, const char *key,
                          int64_t now_ms);

/* Starts a table with ncols (at most SW_TABLE_MAX_COLS) columns named by header. 0,
 * SW_EINVAL (too many columns) or SW_ENOMEM; call
 * sw_table_free afterwards whatever it returns. */
int sw_table_init(struct sw_table *t, const char *const *header, int ncols);
/* Adds a row of ncols cells (copied). 0 or SW_ENOMEM. */
int sw_table_add(struct sw_table *t, const char *const *cells);
/* Prints the rows with columns aligned, two spaces apart, no trailing blanks. */
void sw_table_print(const struct sw_table *t, FILE *out);
void sw_table_free(struct sw_table *t);

#endif
