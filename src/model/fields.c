/* SPDX-License-Identifier: MIT
 * fields.c - spec field readers with errors naming the field. */
#include "fields.h"
#include "core/alloc.h"
#include "core/duration.h"
#include "core/error.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sw_field_fail(struct sw_field_error *err, int rc, const char *field, const char *fmt, ...)
{
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return rc;
}

int sw_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 63 ||
        !(islower((unsigned char)name[0]) || isdigit((unsigned char)name[0])))
        return 0;
    for (const char *p = name; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("._-", *p)))
            return 0;
    return 1;
}

int sw_fields_only(json_t *obj, const char *const allowed[], const char *prefix,
                   struct sw_field_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        int known = 0;
        for (int i = 0; allowed[i] && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (!known) {
            char field[96];
            snprintf(field, sizeof field, "%s%s", prefix ? prefix : "", key);
            return sw_field_fail(err, SW_EUNKNOWN_FIELD, field, "unknown field \"%s\"", field);
        }
    }
    return 0;
}

static json_t *present(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

int sw_field_get_string(json_t *obj, const char *key, int required, size_t max_len,
                        const char **out, struct sw_field_error *err)
{
    json_t *v = present(obj, key);
    if (v == NULL)
        return required ? sw_field_fail(err, SW_EMISSING_FIELD, key, "%s is required", key) : 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max_len ||
        strlen(json_string_value(v)) != json_string_length(v))
        return sw_field_fail(err, SW_EBAD_FIELD, key, "%s must be a string of 1 to %zu characters",
                             key, max_len);
    *out = json_string_value(v);
    return 0;
}

int sw_field_get_int(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                     struct sw_field_error *err)
{
    json_t *v = present(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return sw_field_fail(err, SW_EBAD_FIELD, key, "%s must be an integer from %lld to %lld",
                             key, (long long)min, (long long)max);
    *out = json_integer_value(v);
    return 0;
}

int sw_field_get_number(json_t *obj, const char *key, double min, double max, double *out,
                        struct sw_field_error *err)
{
    json_t *v = present(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max)
        return sw_field_fail(err, SW_EBAD_FIELD, key, "%s must be a number from %g to %g", key, min,
                             max);
    *out = json_number_value(v);
    return 0;
}

int sw_field_get_duration(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out_ms,
                          struct sw_field_error *err)
{
    json_t *v = present(obj, key);
    int64_t ms = -1;
    if (v == NULL)
        return 0;
    if (json_is_integer(v))
        ms = json_integer_value(v);
    else if (!json_is_string(v) || sw_duration_parse(json_string_value(v), &ms))
        ms = -1;
    if (ms < min || ms > max) {
        char lo[32], hi[32];
        sw_duration_format(min, lo, sizeof lo);
        sw_duration_format(max, hi, sizeof hi);
        return sw_field_fail(err, SW_EBAD_FIELD, key,
                             "%s must be a duration such as \"30s\" from %s to %s", key, lo, hi);
    }
    *out_ms = ms;
    return 0;
}

int sw_field_get_size(json_t *obj, const char *key, int64_t max, int64_t *out,
                      struct sw_field_error *err)
{
    json_t *v = present(obj, key);
    int64_t bytes = -1;
    if (v == NULL)
        return 0;
    if (json_is_integer(v))
        bytes = json_integer_value(v);
    else if (!json_is_string(v) || sw_size_parse(json_string_value(v), &bytes))
        bytes = -1;
    if (bytes < 0 || bytes > max)
        return sw_field_fail(err, SW_EBAD_FIELD, key,
                             "%s must be a size such as \"512MiB\" (or bytes)", key);
    *out = bytes;
    return 0;
}

int sw_field_get_enum(json_t *obj, const char *key, const char *choices, int *out,
                      struct sw_field_error *err)
{
    json_t *v = present(obj, key);
    if (v == NULL)
        return 0;
    const char *text = json_string_value(v), *p = choices;
    for (int i = 0; text && *p; i++) {
        const char *end = strchr(p, '|');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (strlen(text) == n && strncmp(p, text, n) == 0) {
            *out = i;
            return 0;
        }
        p += n + (end ? 1 : 0);
    }
    char list[160];
    snprintf(list, sizeof list, "%s", choices);
    for (char *c = list; *c; c++)
        if (*c == '|')
            *c = ',';
    return sw_field_fail(err, SW_EBAD_FIELD, key, "%s must be one of %s", key, list);
}

int sw_field_get_bool(json_t *obj, const char *key, int *out, struct sw_field_error *err)
{
    json_t *v = present(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_boolean(v))
        return sw_field_fail(err, SW_EBAD_FIELD, key, "%s must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

void sw_strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        sw_free(*p);
    sw_free(v);
}

char **sw_strv_dup(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **copy = sw_calloc(n + 1, sizeof *copy);
    for (size_t i = 0; copy && i < n; i++) {
        if ((copy[i] = sw_strdup(v[i])) == NULL) {
            sw_strv_free(copy);
            return NULL;
        }
    }
    return copy;
}

int sw_field_get_strv(json_t *obj, const char *key, size_t max_items, size_t max_len, char ***out,
                      size_t *n, struct sw_field_error *err)
{
    json_t *v = present(obj, key);
    if (v == NULL)
        return 0;
    size_t count = json_is_array(v) ? json_array_size(v) : 0;
    if (count == 0 || count > max_items)
        return sw_field_fail(err, SW_EBAD_FIELD, key, "%s must be a list of 1 to %zu strings", key,
                             max_items);
    char **list = sw_calloc(count + 1, sizeof *list);
    if (list == NULL)
        return SW_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(v, i);
        if (!json_is_string(item) || json_string_length(item) > max_len ||
            strlen(json_string_value(item)) != json_string_length(item)) {
            sw_strv_free(list);
            return sw_field_fail(err, SW_EBAD_FIELD, key,
                                 "%s[%zu] must be a string of at most %zu characters", key, i,
                                 max_len);
        }
        if ((list[i] = sw_strdup(json_string_value(item))) == NULL) {
            sw_strv_free(list);
            return SW_ENOMEM;
        }
    }
    sw_strv_free(*out);
    *out = list;
    if (n)
        *n = count;
    return 0;
}

int sw_field_get_env(json_t *obj, const char *key, char ***out, size_t *n,
                     struct sw_field_error *err)
{
    json_t *v = present(obj, key), *value;
    const char *name;
    if (v == NULL)
        return 0;
    if (!json_is_object(v) || json_object_size(v) > 256)
        return sw_field_fail(err, SW_EBAD_FIELD, key, "%s must be a map of at most 256 strings",
                             key);
    char **list = sw_calloc(json_object_size(v) + 1, sizeof *list);
    size_t i = 0;
    if (list == NULL)
        return SW_ENOMEM;
    json_object_foreach(v, name, value)
    {
        if (!json_is_string(value) || *name == '\0' || strchr(name, '=')) {
            sw_strv_free(list);
            return sw_field_fail(err, SW_EBAD_FIELD, key,
                                 "%s.%s must be a string (and the name must not hold '=')", key,
                                 name);
        }
        size_t len = strlen(name) + json_string_length(value) + 2;
        if ((list[i] = sw_malloc(len)) == NULL) {
            sw_strv_free(list);
            return SW_ENOMEM;
        }
        snprintf(list[i++], len, "%s=%s", name, json_string_value(value));
    }
    sw_strv_free(*out);
    *out = list;
    if (n)
        *n = i;
    return 0;
}

int sw_field_get_labels(json_t *obj, const char *key, char **out, struct sw_field_error *err)
{
    json_t *v = present(obj, key), *value;
    const char *name;
    if (v == NULL)
        return 0;
    if (!json_is_object(v) || json_object_size(v) > 64)
        return sw_field_fail(err, SW_EBAD_FIELD, key, "%s must be a map of at most 64 strings",
                             key);
    json_object_foreach(v, name, value)
    {
        if (!json_is_string(value) || strlen(name) == 0 || strlen(name) > 128)
            return sw_field_fail(err, SW_EBAD_FIELD, key, "%s.%s must be a string", key, name);
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        return SW_ENOMEM;
    sw_free(*out);
    *out = text;
    return 0;
}

int sw_capability_name_valid(const char *name)
{
    size_t len = 0;
    const char *p = name;
    if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p)))
        return 0;
    for (; *p && *p != '@'; p++, len++) {
        unsigned char c = (unsigned char)*p;
        if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '/' || c == '-'))
            return 0;
    }
    if (len > 128)
        return 0;
    if (*p == '@') {
        p++;
        if (!isdigit((unsigned char)*p) || strlen(p) > 9)
            return 0;
        for (; *p; p++)
            if (!isdigit((unsigned char)*p))
                return 0;
    }
    return 1;
}
