/* SPDX-License-Identifier: MIT
 * args.h - the swarm command line. Global options (-o, --url, --token, --help,
 * --version) are taken out first, wherever they stand; the words left name a command,
 * and what follows them is checked against that command's syntax: its flag table and
 * how many operands it takes. Every string is borrowed from argv. A bad line yields
 * SW_EINVAL with a one-line message in args->error that names the bad flag or word. */
#ifndef SW_CLI_ARGS_H
#define SW_CLI_ARGS_H

#include <stdint.h>

/* One flag of a command; a table of them ends with {NULL}. */
struct sw_flag {
    const char *name;    /* "--priority" */
    const char *metavar; /* "N"; NULL for a switch, which takes no value */
    const char *help;
};

/* What a command accepts after the words that name it. */
struct sw_syntax {
    const char *name;     /* "task submit": the words that name the command */
    const char *operands; /* "CAPABILITY", for messages and help; "" if none */
    int min_operands;
    int max_operands;
    const struct sw_flag *flags; /* NULL = none */
};

/* One flag as given on the line. */
struct sw_flag_use {
    const struct sw_flag *flag; /* borrowed from the syntax */
    const char *value;          /* NULL for a switch */
};

struct sw_args {
    /* global options */
    const char *output; /* "table" (the default) or "json" */
    const char *url;    /* --url, NULL if not given */
    const char *token;  /* --token, NULL if not given */
    int help;           /* -h or --help was given */
    int version;        /* --version was given */
    /* every other word, in order ("--" included) */
    const char **words;
    int nwords;
    /* filled by sw_args_parse */
    const char **operands;
    int noperands;
    struct sw_flag_use *flags;
    int nflags;
    char error[256];
};

/* Takes out the global options. 0, SW_EINVAL (message in a->error) or SW_ENOMEM.
 * Call sw_args_free afterwards whatever it returns. */
int sw_args_init(struct sw_args *a, int argc, char **argv);
void sw_args_free(struct sw_args *a);

/* Number of leading words that are plain words (not flags): the candidates for a
 * command name. */
int sw_args_leading_words(const struct sw_args *a);

/* Parses words[start..] against syntax into operands and flags. 0 or SW_EINVAL. */
int sw_args_parse(struct sw_args *a, int start, const struct sw_syntax *syntax);

/* The value of the last use of flag ("--key"), NULL if absent or a switch. */
const char *sw_args_get(const struct sw_args *a, const char *flag);
/* Whether flag was given at all. */
int sw_args_has(const struct sw_args *a, const char *flag);
/* Iterates over every value of a repeatable flag: start with *pos = 0; NULL at
 * the end. */
const char *sw_args_next(const struct sw_args *a, const char *flag, int *pos);

/* Parses the last value of flag as a whole number in [min, max] into *out; when
 * the flag is absent leaves *out as it is. 0 or SW_EINVAL. */
int sw_args_int(struct sw_args *a, const char *flag, int64_t min, int64_t max, int64_t *out);
/* Same for a duration ("500ms", "5s", "1m30s"; a bare number is milliseconds). */
int sw_args_duration(struct sw_args *a, const char *flag, int64_t *out_ms);

/* Writes a one-line message into a->error; returns SW_EINVAL. */
int sw_args_fail(struct sw_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
