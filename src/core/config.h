/* SPDX-License-Identifier: MIT
 * config.h - table-driven configuration. One table of entries (key, flag, env var,
 * type, default, help) drives parsing of defaults, a "key = value" config file, the
 * environment and command-line flags (in that order of precedence, last wins), the
 * --help text and the reference config file. A bad value names its key. */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum sw_config_type {
    SW_CONFIG_STRING,   /* char * (owned by the config, freed by sw_config_free) */
    SW_CONFIG_INT,      /* int64_t */
    SW_CONFIG_DURATION, /* int64_t milliseconds, "30s" */
    SW_CONFIG_SIZE,     /* int64_t bytes, "1MiB" */
    SW_CONFIG_BOOL,     /* int: true/false/yes/no/1/0 */
    SW_CONFIG_ENUM,     /* int: index into choices ("a|b|c") */
};

struct sw_config_entry {
    const char *key; /* config-file key and, as --key, the flag */
    const char *env; /* environment variable or NULL */
    enum sw_config_type type;
    const char *default_value;
    size_t offset;       /* of the field inside the options struct */
    const char *choices; /* enum: "full|normal|off"; else NULL */
    int64_t min, max;    /* int/duration/size bounds (max 0 = none) */
    const char *help;
};

/* Error detail of the last failed call (names the key and the bad value). */
const char *sw_config_error(void);

/* Applies every entry's default to opts. 0 or a negative SW_E* code. */
int sw_config_defaults(const struct sw_config_entry *table, void *opts);
/* Sets one entry by key from a string. 0, SW_ENOT_FOUND (unknown key) or SW_ECONFIG. */
int sw_config_set(const struct sw_config_entry *table, void *opts, const char *key,
                  const char *value, const char *origin);
/* Reads "key = value" lines ('#' comments) from path. */
int sw_config_load_file(const struct sw_config_entry *table, void *opts, const char *path);
/* Applies every entry's environment variable that is set. */
int sw_config_load_env(const struct sw_config_entry *table, void *opts);
/* Parses --key value / --key=value flags; bool flags may stand alone (--flag).
 * Stops at the first non-flag argument and stores its index in *next. */
int sw_config_load_args(const struct sw_config_entry *table, void *opts, int argc, char **argv,
                        int *next);
/* Prints the table as --help text, or as a commented reference config file. */
void sw_config_print_help(const struct sw_config_entry *table, FILE *out);
void sw_config_print_reference(const struct sw_config_entry *table, FILE *out);
void sw_config_free(const struct sw_config_entry *table, void *opts);

#endif
