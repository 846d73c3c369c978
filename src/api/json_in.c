/* SPDX-License-Identifier: MIT
 * json_in.c - request field validation with errors that name the field. */
#include "json_in.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"
#include "model/fields.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sw_body_object(struct sw_request *req, json_t **out)
{
    if (req->body.len == 0) {
        *out = json_object();
        return *out ? 0 : SW_ENOMEM;
    }
    json_error_t err;
    json_t *root = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        sw_reply_error(req, SW_EBAD_JSON, NULL,
                       "the body is not valid JSON: %s (line %d, column %d)", err.text, err.line,
                       err.column);
        return SW_EBAD_JSON;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        sw_reply_error(req, SW_EBAD_JSON, NULL, "the body must be a JSON object");
        return SW_EBAD_JSON;
    }
    *out = root;
    return 0;
}

int sw_body_only(struct sw_request *req, json_t *obj, const char *const allowed[])
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        int known = 0;
        for (int i = 0; allowed[i] && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (!known) {
            sw_reply_error(req, SW_EUNKNOWN_FIELD, key, "unknown field \"%s\"", key);
            return SW_EUNKNOWN_FIELD;
        }
    }
    return 0;
}

static int bad_field(struct sw_request *req, const char *key, const char *expected)
{
    sw_reply_error(req, SW_EBAD_FIELD, key, "%s must be %s", key, expected);
    return SW_EBAD_FIELD;
}

int sw_field_string(struct sw_request *req, json_t *obj, const char *key, int required,
                    size_t max_len, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || (json_is_null(v) && !required)) {
        if (!required)
            return 0;
        sw_reply_error(req, SW_EMISSING_FIELD, key, "%s is required", key);
        return SW_EMISSING_FIELD;
    }
    if (!json_is_string(v))
        return bad_field(req, key, "a string");
    size_t len = json_string_length(v);
    if (len == 0 || len > max_len || strlen(json_string_value(v)) != len) {
        char expected[96];
        snprintf(expected, sizeof expected, "a string of 1 to %zu characters", max_len);
        return bad_field(req, key, expected);
    }
    *out = json_string_value(v);
    return 0;
}

int sw_field_int(struct sw_request *req, json_t *obj, const char *key, int64_t min, int64_t max,
                 int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char expected[96];
        snprintf(expected, sizeof expected, "an integer from %lld to %lld", (long long)min,
                 (long long)max);
        return bad_field(req, key, expected);
    }
    *out = json_integer_value(v);
    return 0;
}

int sw_field_number(struct sw_request *req, json_t *obj, const char *key, double min, double max,
                    double *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max) {
        char expected[96];
        snprintf(expected, sizeof expected, "a number from %g to %g", min, max);
        return bad_field(req, key, expected);
    }
    *out = json_number_value(v);
    return 0;
}

int sw_field_bool(struct sw_request *req, json_t *obj, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return bad_field(req, key, "true or false");
    *out = json_is_true(v);
    return 0;
}

int sw_field_labels(struct sw_request *req, json_t *obj, const char *key, char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v) || json_object_size(v) > 64)
        return bad_field(req, key, "an object of at most 64 string values");
    const char *k;
    json_t *value;
    json_object_foreach(v, k, value)
    {
        if (!json_is_string(value) || strlen(k) == 0 || strlen(k) > 128 ||
            json_string_length(value) > 1024)
            return bad_field(req, key,
                             "an object of string values (keys of 1 to 128 "
                             "characters, values up to 1024)");
    }
    *out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    return *out ? 0 : SW_ENOMEM;
}

int sw_field_json(struct sw_request *req, json_t *obj, const char *key, size_t max_len, char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL)
        return 0;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL) {
        sw_reply_error(req, SW_ENOMEM, key, NULL);
        return SW_ENOMEM;
    }
    if (strlen(text) > max_len) {
        sw_free(text);
        sw_reply_error(req, SW_ETOO_LARGE, key, "%s is larger than %zu bytes", key, max_len);
        return SW_ETOO_LARGE;
    }
    *out = text;
    return 0;
}

int sw_capability_valid(const char *name)
{
    return sw_capability_name_valid(name);
}

int sw_path_id(struct sw_request *req, char prefix, const char *what, uint64_t *id)
{
    if (sw_id_parse(prefix, req->params[0], id) == 0)
        return 0;
    sw_reply_error(req, SW_ENOT_FOUND, NULL, "no %s %s (ids look like %c_0123456789abcdef)", what,
                   req->params[0], prefix);
    return SW_ENOT_FOUND;
}

int sw_query_int(struct sw_request *req, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const char *text = sw_request_query(req, key);
    if (text == NULL)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        sw_reply_error(req, SW_EBAD_QUERY, key, "%s must be an integer from %lld to %lld", key,
                       (long long)min, (long long)max);
        return SW_EBAD_QUERY;
    }
    *out = v;
    return 0;
}
