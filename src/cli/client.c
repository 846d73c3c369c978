/* SPDX-License-Identifier: MIT
 * client.c - HTTP requests to swarmd through libcurl. libcurl is loaded and
 * initialised only when the first client opens, and without its TLS layer unless the
 * URL is https, so that commands which never talk to the daemon pay nothing for it. */
#include "cli/client.h"

#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

#define CLIENT_CONNECT_TIMEOUT_MS 5000L
#define CLIENT_PATH_MAX           8192

static size_t client_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sw_buf *reply = arg;
    size_t len = size * nmemb;
    return sw_buf_append(reply, data, len) == 0 ? len : 0;
}

int sw_client_add_header(struct sw_client *c, const char *header)
{
    struct curl_slist *list = c->lib->slist_append(c->headers, header);
    if (list == NULL)
        return SW_ENOMEM;
    c->headers = list;
    return 0;
}

static int client_set_headers(struct sw_client *c)
{
    struct sw_buf auth;
    int rc = sw_client_add_header(c, "Accept: application/json");

    if (rc == 0)
        rc = sw_client_add_header(c, "Content-Type: application/json");
    if (rc == 0)
        rc = sw_client_add_header(c, "Expect:"); /* no 100-continue round trip */
    if (rc || c->endpoint->token == NULL)
        return rc;
    sw_buf_init(&auth, 64 * 1024);
    rc = sw_buf_appendf(&auth, "Authorization: Bearer %s", c->endpoint->token);
    if (rc == 0)
        rc = sw_client_add_header(c, auth.data);
    sw_buf_free(&auth);
    return rc;
}

int sw_client_open(struct sw_client *c, const struct sw_endpoint *ep)
{
    int tls = strncmp(ep->base, "https:", 6) == 0;
    char err[256];
    int rc;

    memset(c, 0, sizeof *c);
    c->endpoint = ep;
    sw_buf_init(&c->reply, SW_CLIENT_MAX_REPLY);
    rc = sw_curl_lib_load(&c->lib, err, sizeof err);
    if (rc) {
        fprintf(stderr, "swarm: %s\n", err);
        return rc;
    }
    if (c->lib->global_init(tls ? CURL_GLOBAL_DEFAULT : CURL_GLOBAL_NOTHING) != CURLE_OK)
        return SW_ENOMEM;
    c->curl = c->lib->easy_init();
    if (c->curl == NULL) {
        c->lib->global_cleanup();
        return SW_ENOMEM;
    }
    rc = client_set_headers(c);
    if (rc)
        return rc;
    c->lib->easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
    c->lib->easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, client_write_cb);
    c->lib->easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->reply);
    c->lib->easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    c->lib->easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    c->lib->easy_setopt(c->curl, CURLOPT_USERAGENT, "swarm/" SW_VERSION);
    c->lib->easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, CLIENT_CONNECT_TIMEOUT_MS);
    if (ep->socket_path) {
        c->lib->easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, ep->socket_path);
        c->lib->easy_setopt(c->curl, CURLOPT_PROXY, ""); /* no proxy for a local socket */
    }
    return 0;
}

void sw_client_close(struct sw_client *c)
{
    if (c->curl) {
        c->lib->easy_cleanup(c->curl);
        c->lib->global_cleanup();
    }
    if (c->lib)
        c->lib->slist_free_all(c->headers);
    sw_buf_free(&c->reply);
    memset(c, 0, sizeof *c);
}

/* Sets method and body on the handle; text is the encoded body (NULL = none). */
static void client_set_method(struct sw_client *c, const char *method, const char *text)
{
    int standard = strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0;

    c->lib->easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    if (text || strcmp(method, "POST") == 0) {
        c->lib->easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)(text ? strlen(text) : 0));
        c->lib->easy_setopt(c->curl, CURLOPT_POSTFIELDS, text ? text : "");
    }
    c->lib->easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, standard ? NULL : method);
}

static int client_perform(struct sw_client *c, const char *url, long timeout_ms)
{
    long os_errno = 0;
    const char *why;
    CURLcode cc;

    c->errbuf[0] = '\0';
    sw_buf_reset(&c->reply);
    c->lib->easy_setopt(c->curl, CURLOPT_URL, url);
    c->lib->easy_setopt(c->curl, CURLOPT_TIMEOUT_MS,
                        timeout_ms > 0 ? timeout_ms : SW_CLIENT_TIMEOUT_MS);
    cc = c->lib->easy_perform(c->curl);
    if (cc == CURLE_OK)
        return 0;
    if (cc == CURLE_WRITE_ERROR) {
        fprintf(stderr, "swarm: the reply from %s is larger than %zu MiB\n", c->endpoint->url,
                SW_CLIENT_MAX_REPLY >> 20);
        return SW_ETOO_LARGE;
    }
    c->lib->easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
    if (c->endpoint->socket_path && os_errno) /* curl would name "localhost port 80" */
        why = strerror((int)os_errno);
    else
        why = c->errbuf[0] ? c->errbuf : c->lib->easy_strerror(cc);
    fprintf(stderr, "swarm: cannot reach swarmd at %s (from %s): %s\n", c->endpoint->url,
            c->endpoint->source, why);
    return SW_EIO;
}

int sw_client_request(struct sw_client *c, const char *method, const char *path, const json_t *body,
                      long timeout_ms, long *status, json_t **reply)
{
    struct sw_buf url;
    char *text = NULL;
    int rc;

    *reply = NULL;
    *status = 0;
    sw_buf_init(&url, CLIENT_PATH_MAX + strlen(c->endpoint->base));
    rc = sw_buf_appendf(&url, "%s%s", c->endpoint->base, path);
    if (rc)
        goto out;
    if (body && (text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
        rc = SW_ENOMEM;
        goto out;
    }
    client_set_method(c, method, text);
    rc = client_perform(c, url.data, timeout_ms);
    if (rc)
        goto out;
    c->lib->easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
    if (c->reply.len > 0)
        *reply = json_loadb(c->reply.data, c->reply.len, JSON_DECODE_ANY, NULL);
out:
    sw_free(text);
    sw_buf_free(&url);
    return rc;
}

/* Prints an error reply: {"error":{"code","message","field"}}, else the raw body. */
static void client_print_error(const struct sw_client *c, long status, const json_t *reply)
{
    const json_t *error = json_object_get(reply, "error");
    const char *code = json_string_value(json_object_get(error, "code"));
    const char *message = json_string_value(json_object_get(error, "message"));
    const char *field = json_string_value(json_object_get(error, "field"));
    const char *raw = c->reply.len ? c->reply.data : "";
    int line = (int)strcspn(raw, "\r\n");

    if (code == NULL) {
        fprintf(stderr, "swarm: HTTP %ld from %s: %.*s\n", status, c->endpoint->url,
                line > 200 ? 200 : line, raw);
        return;
    }
    fprintf(stderr, "swarm: %s: %s", code, message ? message : "(no message)");
    if (field)
        fprintf(stderr, " (field: %s)", field);
    fputc('\n', stderr);
}

int sw_client_call(struct sw_client *c, const char *method, const char *path, const json_t *body,
                   long timeout_ms, json_t **reply)
{
    long status;
    int rc = sw_client_request(c, method, path, body, timeout_ms, &status, reply);

    if (rc)
        return rc;
    if (status >= 200 && status < 300 && *reply)
        return 0;
    if (status >= 200 && status < 300) {
        fprintf(stderr, "swarm: the reply from %s to %s %s is not JSON\n", c->endpoint->url, method,
                path);
        rc = SW_EBAD_JSON;
    } else {
        client_print_error(c, status, *reply);
        rc = status == 404 ? SW_ENOT_FOUND : SW_EINTERNAL;
    }
    json_decref(*reply);
    *reply = NULL;
    return rc;
}

json_t *sw_client_last_reply(const struct sw_client *c)
{
    return c->reply.len ? json_loadb(c->reply.data, c->reply.len, JSON_DECODE_ANY, NULL) : NULL;
}

int sw_client_call_on(struct sw_client *c, const char *method, const char *prefix, const char *id,
                      const char *suffix, const json_t *body, long timeout_ms, json_t **reply)
{
    struct sw_buf path;
    int rc;

    *reply = NULL;
    sw_buf_init(&path, CLIENT_PATH_MAX);
    rc = sw_buf_appendstr(&path, prefix);
    if (rc == 0)
        rc = sw_client_escape(&path, id);
    if (rc == 0)
        rc = sw_buf_appendstr(&path, suffix);
    if (rc == 0)
        rc = sw_client_call(c, method, path.data, body, timeout_ms, reply);
    sw_buf_free(&path);
    return rc;
}

int sw_client_escape(struct sw_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (; *s && rc == 0; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (plain)
            rc = sw_buf_append(b, s, 1);
        else
            rc = sw_buf_appendf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
    }
    return rc;
}
