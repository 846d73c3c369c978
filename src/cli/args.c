/* SPDX-License-Identifier: MIT
 * args.c - command-line parsing for swarm: the global options are lifted out of argv
 * in one pass, then a command's own flags and operands are read against its syntax.
 * Nothing here prints; a bad line leaves one message in args->error for the caller. */
#include "cli/args.h"

#include "core/alloc.h"
#include "core/duration.h"
#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sw_args_fail(struct sw_args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->error, sizeof a->error, fmt, ap);
    va_end(ap);
    return SW_EINVAL;
}

/* If word is a global option that takes a value, returns where that value goes and
 * sets *inline_value for "-ojson" and "--output=json" (NULL when the value is the
 * next word). Returns NULL for any other word. */
static const char **global_slot(struct sw_args *a, const char *word, const char **inline_value)
{
    static const char *const names[] = {"-o", "--output", "--url", "--token"};
    const char **slots[] = {&a->output, &a->output, &a->url, &a->token};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t len = strlen(names[i]);
        if (strncmp(word, names[i], len) != 0)
            continue;
        if (word[len] == '\0') {
            *inline_value = NULL;
            return slots[i];
        }
        if (word[len] == '=' || i == 0) {
            *inline_value = word + len + (word[len] == '=');
            return slots[i];
        }
    }
    return NULL;
}

static int is_global(struct sw_args *a, const char *word)
{
    const char *value;
    if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0)
        return 1;
    if (strcmp(word, "--version") == 0)
        return 1;
    return global_slot(a, word, &value) != NULL;
}

/* Takes the global option at argv[*i] (and its value, advancing *i). */
static int take_global(struct sw_args *a, int argc, char **argv, int *i)
{
    const char *word = argv[*i];
    const char *value;

    if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0) {
        a->help = 1;
        return 0;
    }
    if (strcmp(word, "--version") == 0) {
        a->version = 1;
        return 0;
    }
    const char **slot = global_slot(a, word, &value);
    if (value == NULL) {
        if (*i + 1 >= argc)
            return sw_args_fail(a, "%s needs a value", word);
        value = argv[++*i];
    }
    *slot = value;
    return 0;
}

int sw_args_init(struct sw_args *a, int argc, char **argv)
{
    int rc, rest = 0;
    size_t n = argc > 1 ? (size_t)argc : 1;

    memset(a, 0, sizeof *a);
    a->output = "table";
    a->words = sw_calloc(n, sizeof *a->words);
    a->operands = sw_calloc(n, sizeof *a->operands);
    a->flags = sw_calloc(n, sizeof *a->flags);
    if (a->words == NULL || a->operands == NULL || a->flags == NULL)
        return SW_ENOMEM;
    for (int i = 1; i < argc; i++) {
        if (rest || !is_global(a, argv[i])) {
            rest = rest || strcmp(argv[i], "--") == 0;
            a->words[a->nwords++] = argv[i];
            continue;
        }
        rc = take_global(a, argc, argv, &i);
        if (rc)
            return rc;
    }
    if (strcmp(a->output, "json") != 0 && strcmp(a->output, "table") != 0)
        return sw_args_fail(a, "-o: unknown output format '%s' (use json or table)", a->output);
    return 0;
}

void sw_args_free(struct sw_args *a)
{
    sw_free(a->words);
    sw_free(a->operands);
    sw_free(a->flags);
    a->words = a->operands = NULL;
    a->flags = NULL;
    a->nwords = a->noperands = a->nflags = 0;
}

int sw_args_leading_words(const struct sw_args *a)
{
    int n = 0;
    while (n < a->nwords && a->words[n][0] != '-')
        n++;
    return n;
}

static const struct sw_flag *find_flag(const struct sw_flag *flags, const char *name, size_t len)
{
    for (const struct sw_flag *f = flags; f && f->name; f++)
        if (strlen(f->name) == len && memcmp(f->name, name, len) == 0)
            return f;
    return NULL;
}

/* Reads the flag at words[*i], and its value (advancing *i) when it takes one. */
static int parse_flag(struct sw_args *a, const struct sw_syntax *syntax, int *i)
{
    const char *word = a->words[*i];
    const char *eq = strchr(word, '=');
    size_t len = eq ? (size_t)(eq - word) : strlen(word);
    const struct sw_flag *flag = find_flag(syntax->flags, word, len);
    const char *value = eq ? eq + 1 : NULL;

    if (flag == NULL)
        return sw_args_fail(a, "unknown flag '%.*s' for '%s'", (int)len, word, syntax->name);
    if (flag->metavar == NULL && value)
        return sw_args_fail(a, "%s takes no value", flag->name);
    if (flag->metavar && value == NULL) {
        if (*i + 1 >= a->nwords)
            return sw_args_fail(a, "%s needs a value (%s)", flag->name, flag->metavar);
        value = a->words[++*i];
    }
    a->flags[a->nflags].flag = flag;
    a->flags[a->nflags].value = value;
    a->nflags++;
    return 0;
}

int sw_args_parse(struct sw_args *a, int start, const struct sw_syntax *syntax)
{
    int rc, only_operands = 0;

    a->noperands = a->nflags = 0;
    for (int i = start; i < a->nwords; i++) {
        const char *word = a->words[i];
        if (!only_operands && strcmp(word, "--") == 0) {
            only_operands = 1;
        } else if (only_operands || word[0] != '-' || word[1] == '\0') {
            a->operands[a->noperands++] = word;
        } else {
            rc = parse_flag(a, syntax, &i);
            if (rc)
                return rc;
        }
    }
    if (a->noperands < syntax->min_operands)
        return sw_args_fail(a, "missing %s for '%s'", syntax->operands, syntax->name);
    if (a->noperands > syntax->max_operands)
        return sw_args_fail(a, "unexpected argument '%s' for '%s'",
                            a->operands[syntax->max_operands], syntax->name);
    return 0;
}

const char *sw_args_get(const struct sw_args *a, const char *flag)
{
    for (int i = a->nflags - 1; i >= 0; i--)
        if (strcmp(a->flags[i].flag->name, flag) == 0)
            return a->flags[i].value;
    return NULL;
}

int sw_args_has(const struct sw_args *a, const char *flag)
{
    for (int i = 0; i < a->nflags; i++)
        if (strcmp(a->flags[i].flag->name, flag) == 0)
            return 1;
    return 0;
}

const char *sw_args_next(const struct sw_args *a, const char *flag, int *pos)
{
    while (*pos < a->nflags) {
        const struct sw_flag_use *use = &a->flags[(*pos)++];
        if (strcmp(use->flag->name, flag) == 0)
            return use->value;
    }
    return NULL;
}

int sw_args_int(struct sw_args *a, const char *flag, int64_t min, int64_t max, int64_t *out)
{
    const char *text = sw_args_get(a, flag);
    char *end;

    if (text == NULL)
        return 0;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno == ERANGE)
        return sw_args_fail(a, "%s: '%s' is not a whole number", flag, text);
    if (value < min || value > max)
        return sw_args_fail(a, "%s: %lld is out of range (%lld to %lld)", flag, value,
                            (long long)min, (long long)max);
    *out = value;
    return 0;
}

int sw_args_duration(struct sw_args *a, const char *flag, int64_t *out_ms)
{
    const char *text = sw_args_get(a, flag);

    if (text == NULL)
        return 0;
    if (sw_duration_parse(text, out_ms))
        return sw_args_fail(a,
                            "%s: '%s' is not a duration (like 500ms, 5s, 1m30s; a bare "
                            "number is milliseconds)",
                            flag, text);
    return 0;
}
