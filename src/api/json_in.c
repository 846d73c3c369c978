/* SPDX-License-Identifier: MIT
 * json_in.c - request field validation with errors that name the field. */
#include "json_in.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"
#include "model/fields.h"

#include <ctype.h>
#include <microhttpd.h>
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

static int reply_field(struct sw_request *req, int rc, const struct sw_field_error *err);

int sw_body_only(struct sw_request *req, json_t *obj, const char *const allowed[])
{
    struct sw_field_error err;
    return reply_field(req, sw_fields_only(obj, allowed, NULL, &err), &err);
}

/* Answers the request with the error a model field reader reported. */
static int reply_field(struct sw_request *req, int rc, const struct sw_field_error *err)
{
    if (rc)
        sw_reply_error(req, rc, err->field[0] ? err->field : NULL, "%s", err->message);
    return rc;
}

int sw_field_string(struct sw_request *req, json_t *obj, const char *key, int required,
                    size_t max_len, const char **out)
{
    struct sw_field_error err;
    return reply_field(req, sw_field_get_string(obj, key, required, max_len, out, &err), &err);
}

int sw_field_int(struct sw_request *req, json_t *obj, const char *key, int64_t min, int64_t max,
                 int64_t *out)
{
    struct sw_field_error err;
    return reply_field(req, sw_field_get_int(obj, key, min, max, out, &err), &err);
}

int sw_field_number(struct sw_request *req, json_t *obj, const char *key, double min, double max,
                    double *out)
{
    struct sw_field_error err;
    return reply_field(req, sw_field_get_number(obj, key, min, max, out, &err), &err);
}

int sw_field_bool(struct sw_request *req, json_t *obj, const char *key, int *out)
{
    struct sw_field_error err;
    return reply_field(req, sw_field_get_bool(obj, key, out, &err), &err);
}

int sw_field_labels(struct sw_request *req, json_t *obj, const char *key, char **out)
{
    struct sw_field_error err;
    *out = NULL;
    return reply_field(req, sw_field_get_labels(obj, key, out, &err), &err);
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

struct query_check {
    const char *const *allowed;
    const char *bad;
};

static enum MHD_Result query_key_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    struct query_check *q = cls;
    for (size_t i = 0; q->allowed[i]; i++)
        if (strcmp(q->allowed[i], key) == 0)
            return MHD_YES;
    q->bad = key;
    return MHD_NO;
}

int sw_query_only(struct sw_request *req, const char *const allowed[])
{
    struct query_check q = {allowed, NULL};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_key_cb, &q);
    if (q.bad == NULL)
        return 0;
    sw_reply_error(req, SW_EBAD_QUERY, q.bad, "unknown query parameter '%s'", q.bad);
    return SW_EBAD_QUERY;
}
