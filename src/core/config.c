/* SPDX-License-Identifier: MIT
 * config.c - the configuration table engine. */
#include "config.h"
#include "alloc.h"
#include "duration.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char config_error_text[512];

const char *sw_config_error(void)
{
    return config_error_text;
}

static int config_fail(const struct sw_config_entry *e, const char *value, const char *origin,
                       const char *why)
{
    snprintf(config_error_text, sizeof config_error_text, "%s: bad value \"%s\" for %s: %s", origin,
             value, e->key, why);
    return SW_ECONFIG;
}

static const struct sw_config_entry *config_find(const struct sw_config_entry *table,
                                                 const char *key, size_t len)
{
    for (const struct sw_config_entry *e = table; e->key; e++)
        if (strlen(e->key) == len && strncmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

static int parse_enum(const char *choices, const char *value, int *index)
{
    const char *p = choices;
    size_t len = strlen(value);
    for (int i = 0; *p; i++) {
        const char *end = strchr(p, '|');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, value, n) == 0) {
            *index = i;
            return 0;
        }
        p += n + (end ? 1 : 0);
    }
    return SW_EINVAL;
}

static int parse_bool(const char *value, int *out)
{
    static const char *const truths[] = {"1", "true", "yes", "on"};
    static const char *const lies[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(value, truths[i]) == 0)
            return *out = 1, 0;
        if (strcmp(value, lies[i]) == 0)
            return *out = 0, 0;
    }
    return SW_EINVAL;
}

static int parse_int(const char *value, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end != '\0')
        return SW_EINVAL;
    *out = v;
    return 0;
}

static int config_apply(const struct sw_config_entry *e, void *opts, const char *value,
                        const char *origin)
{
    char *field = (char *)opts + e->offset;
    int64_t number = 0;
    int rc = 0;
    switch (e->type) {
    case SW_CONFIG_STRING: {
        char *copy = sw_strdup(value);
        if (copy == NULL)
            return SW_ENOMEM;
        sw_free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case SW_CONFIG_BOOL:
        if (parse_bool(value, (int *)field))
            return config_fail(e, value, origin, "expected true or false");
        return 0;
    case SW_CONFIG_ENUM:
        if (parse_enum(e->choices, value, (int *)field)) {
            char why[256];
            snprintf(why, sizeof why, "expected one of %s", e->choices);
            return config_fail(e, value, origin, why);
        }
        return 0;
    case SW_CONFIG_INT:
        rc = parse_int(value, &number);
        if (rc)
            return config_fail(e, value, origin, "expected an integer");
        break;
    case SW_CONFIG_DURATION:
        rc = sw_duration_parse(value, &number);
        if (rc)
            return config_fail(e, value, origin, "expected a duration such as 500ms, 30s, 5m");
        break;
    case SW_CONFIG_SIZE:
        rc = sw_size_parse(value, &number);
        if (rc)
            return config_fail(e, value, origin, "expected a size such as 4096, 512KiB, 1MiB");
        break;
    }
    if (number < e->min || (e->max && number > e->max)) {
        char why[128];
        snprintf(why, sizeof why, "out of range [%lld, %lld]", (long long)e->min,
                 (long long)e->max);
        return config_fail(e, value, origin, why);
    }
    *(int64_t *)field = number;
    return 0;
}

int sw_config_defaults(const struct sw_config_entry *table, void *opts)
{
    for (const struct sw_config_entry *e = table; e->key; e++) {
        if (e->default_value == NULL)
            continue;
        int rc = config_apply(e, opts, e->default_value, "default");
        if (rc)
            return rc;
    }
    return 0;
}

int sw_config_set(const struct sw_config_entry *table, void *opts, const char *key,
                  const char *value, const char *origin)
{
    const struct sw_config_entry *e = config_find(table, key, strlen(key));
    if (e == NULL) {
        snprintf(config_error_text, sizeof config_error_text, "%s: unknown option %s", origin, key);
        return SW_ENOT_FOUND;
    }
    return config_apply(e, opts, value, origin);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int sw_config_load_file(const struct sw_config_entry *table, void *opts, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(config_error_text, sizeof config_error_text, "cannot open config file %s: %s",
                 path, strerror(errno));
        return SW_ECONFIG;
    }
    char line[4096], origin[400];
    int rc = 0, lineno = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '#' || *s == '\0')
            continue;
        snprintf(origin, sizeof origin, "%s:%d", path, lineno);
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(config_error_text, sizeof config_error_text, "%s: expected key = value",
                     origin);
            rc = SW_ECONFIG;
            break;
        }
        *eq = '\0';
        char *value = trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        rc = sw_config_set(table, opts, trim(s), value, origin);
        if (rc == SW_ENOT_FOUND)
            rc = SW_ECONFIG;
    }
    fclose(f);
    return rc;
}

int sw_config_load_env(const struct sw_config_entry *table, void *opts)
{
    for (const struct sw_config_entry *e = table; e->key; e++) {
        const char *value = e->env ? getenv(e->env) : NULL;
        if (value == NULL)
            continue;
        int rc = config_apply(e, opts, value, e->env);
        if (rc)
            return rc;
    }
    return 0;
}

int sw_config_load_args(const struct sw_config_entry *table, void *opts, int argc, char **argv,
                        int *next)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            break;
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct sw_config_entry *e = config_find(table, name, len);
        if (e == NULL) {
            snprintf(config_error_text, sizeof config_error_text, "unknown option --%.*s", (int)len,
                     name);
            return SW_ECONFIG;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (value == NULL && e->type == SW_CONFIG_BOOL)
            value = "true";
        if (value == NULL) {
            if (i + 1 >= argc) {
                snprintf(config_error_text, sizeof config_error_text, "option --%s needs a value",
                         e->key);
                return SW_ECONFIG;
            }
            value = argv[++i];
        }
        char origin[160];
        snprintf(origin, sizeof origin, "--%s", e->key);
        int rc = config_apply(e, opts, value, origin);
        if (rc)
            return rc;
    }
    if (next)
        *next = i;
    return 0;
}

static const char *type_name(const struct sw_config_entry *e)
{
    static const char *const names[] = {"STRING", "N", "DURATION", "SIZE", "BOOL", ""};
    return e->type == SW_CONFIG_ENUM ? e->choices : names[e->type];
}

void sw_config_print_help(const struct sw_config_entry *table, FILE *out)
{
    for (const struct sw_config_entry *e = table; e->key; e++) {
        char flag[128];
        snprintf(flag, sizeof flag, "--%s %s", e->key, type_name(e));
        fprintf(out, "  %-34s %s\n", flag, e->help);
        fprintf(out, "  %-34s default: %s%s%s\n", "",
                e->default_value && *e->default_value ? e->default_value : "(none)",
                e->env ? "; env: " : "", e->env ? e->env : "");
    }
}

void sw_config_print_reference(const struct sw_config_entry *table, FILE *out)
{
    for (const struct sw_config_entry *e = table; e->key; e++) {
        fprintf(out, "# %s (%s)%s%s\n", e->help, type_name(e), e->env ? ", env " : "",
                e->env ? e->env : "");
        fprintf(out, "# %s = %s\n\n", e->key, e->default_value ? e->default_value : "");
    }
}

void sw_config_free(const struct sw_config_entry *table, void *opts)
{
    for (const struct sw_config_entry *e = table; e->key; e++) {
        if (e->type != SW_CONFIG_STRING)
            continue;
        char **field = (char **)((char *)opts + e->offset);
        sw_free(*field);
        *field = NULL;
    }
}
