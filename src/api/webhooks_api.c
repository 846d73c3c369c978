/* SPDX-License-Identifier: MIT
 * webhooks_api.c - the /v1/webhooks routes: create (url, secret and type patterns
 * checked here, each error naming its field), list, get, delete and enable. A reply
 * never holds the secret. */
#include "json_in.h"
#include "routes.h"
#include "server.h"
#include "webhooks.h"
#include "core/error.h"
#include "core/ids.h"

static void reply_failure(struct sw_request *req, int rc)
{
    if (rc == SW_ENOT_FOUND)
        sw_reply_error(req, rc, NULL, "no webhook %s", req->params[0]);
    else
        sw_reply_error(req, rc, NULL, NULL);
}

static void reply_webhook(struct sw_request *req, int status, uint64_t id)
{
    struct sw_buf body;
    sw_buf_init(&body, 1 << 20);
    int rc = sw_webhooks_render(req->server, id, &body);
    if (rc) {
        sw_buf_free(&body);
        reply_failure(req, rc);
        return;
    }
    sw_reply(req, status, &body);
}

static int parse_url(struct sw_request *req, json_t *root, const char **url)
{
    int rc = sw_field_string(req, root, "url", 1, SW_WEBHOOK_URL_MAX, url);
    if (rc == 0 && !sw_webhook_check_url(*url)) {
        sw_reply_error(req, SW_EBAD_FIELD, "url",
                       "url must be an http:// or https:// URL with a host, without spaces");
        rc = SW_EBAD_FIELD;
    }
    return rc;
}

static int parse_secret(struct sw_request *req, json_t *root, const char **secret)
{
    int rc = sw_field_string(req, root, "secret", 1, SW_WEBHOOK_SECRET_MAX, secret);
    if (rc == 0 && !sw_webhook_check_secret(*secret)) {
        sw_reply_error(req, SW_EBAD_FIELD, "secret", "secret must have %d to %d characters",
                       SW_WEBHOOK_SECRET_MIN, SW_WEBHOOK_SECRET_MAX);
        rc = SW_EBAD_FIELD;
    }
    return rc;
}

/* "types": absent = every event, else 1..SW_WEBHOOK_TYPES_MAX patterns (borrowed). */
static int parse_types(struct sw_request *req, json_t *root, const char **types, size_t *n)
{
    json_t *array = json_object_get(root, "types");
    size_t count = json_is_array(array) ? json_array_size(array) : 0;
    *n = 0;
    if (array == NULL)
        return 0;
    if (count == 0 || count > SW_WEBHOOK_TYPES_MAX) {
        sw_reply_error(req, SW_EBAD_FIELD, "types",
                       "types must be an array of 1 to %d event type patterns",
                       SW_WEBHOOK_TYPES_MAX);
        return SW_EBAD_FIELD;
    }
    for (size_t i = 0; i < count; i++) {
        const char *t = json_string_value(json_array_get(array, i));
        if (t == NULL || !sw_webhook_check_type(t)) {
            sw_reply_error(req, SW_EBAD_FIELD, "types",
                           "types[%zu] is not a type pattern: use an event type (\"demo.x\") "
                           "or a prefix ending in '*' (\"swarmd.task.*\")",
                           i);
            return SW_EBAD_FIELD;
        }
        types[i] = t;
    }
    *n = count;
    return 0;
}

void sw_api_webhook_create(struct sw_request *req)
{
    static const char *const fields[] = {"url", "secret", "types", NULL};
    const char *types[SW_WEBHOOK_TYPES_MAX];
    struct sw_webhook_spec spec = {NULL, NULL, types, 0};
    json_t *root = NULL;
    uint64_t id;
    if (sw_body_object(req, &root) || sw_body_only(req, root, fields) ||
        parse_url(req, root, &spec.url) || parse_secret(req, root, &spec.secret) ||
        parse_types(req, root, types, &spec.ntypes))
        goto out;
    int rc = sw_webhooks_create(req->server, &spec, &id);
    if (rc)
        reply_failure(req, rc);
    else
        reply_webhook(req, 201, id);
out:
    json_decref(root);
}

void sw_api_webhook_list(struct sw_request *req)
{
    struct sw_buf body;
    sw_buf_init(&body, (size_t)1 << 28);
    int rc = sw_webhooks_render_list(req->server, &body);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_reply(req, 200, &body);
}

void sw_api_webhook_get(struct sw_request *req)
{
    uint64_t id;
    if (sw_path_id(req, 'w', "webhook", &id))
        return;
    reply_webhook(req, 200, id);
}

void sw_api_webhook_delete(struct sw_request *req)
{
    uint64_t id;
    if (sw_path_id(req, 'w', "webhook", &id))
        return;
    int rc = sw_webhooks_delete(req->server, id);
    if (rc) {
        reply_failure(req, rc);
        return;
    }
    char text[SW_ID_STRLEN], body[64];
    sw_id_format('w', id, text);
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"deleted\":true}", text);
    sw_reply_text(req, 200, body);
}

void sw_api_webhook_enable(struct sw_request *req)
{
    uint64_t id;
    if (sw_path_id(req, 'w', "webhook", &id))
        return;
    int rc = sw_webhooks_enable(req->server, id);
    if (rc) {
        reply_failure(req, rc);
        return;
    }
    reply_webhook(req, 200, id);
}
