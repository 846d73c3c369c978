/* SPDX-License-Identifier: MIT
 * client.h - the swarm CLI's HTTP client: one libcurl handle, kept open for all the
 * requests of one command, sending JSON to the daemon over TCP or its Unix socket
 * and parsing JSON replies. It prints its own failures on stderr (which daemon it
 * could not reach, or the daemon's error code, message and field), so callers only
 * turn the returned code into an exit status. */
#ifndef SW_CLI_CLIENT_H
#define SW_CLI_CLIENT_H

#include "cli/curl_lib.h"
#include "cli/endpoint.h"
#include "core/buf.h"

#include <curl/curl.h>
#include <jansson.h>

#define SW_CLIENT_MAX_REPLY  ((size_t)64 << 20) /* a larger reply body is refused */
#define SW_CLIENT_TIMEOUT_MS 60000L             /* default time limit of one request */

struct sw_client {
    const struct sw_endpoint *endpoint; /* borrowed */
    const struct sw_curl_lib *lib;      /* borrowed, lives until exit */
    CURL *curl;
    struct curl_slist *headers;
    struct sw_buf reply; /* the body of the last reply */
    char errbuf[CURL_ERROR_SIZE];
};

/* Loads libcurl and prepares a handle for ep (borrowed: it must outlive the client).
 * 0, SW_ENOMEM, or SW_EINTERNAL when libcurl cannot be loaded (printed). Call
 * sw_client_close afterwards whatever it returns. */
int sw_client_open(struct sw_client *c, const struct sw_endpoint *ep);
void sw_client_close(struct sw_client *c);

/* Sends "method path" (path starts with '/' and may carry a query) with body (borrowed;
 * NULL = none) and waits at most timeout_ms (0 = SW_CLIENT_TIMEOUT_MS). On any HTTP
 * reply returns 0 with *status, and *reply the parsed body (new reference) or NULL
 * when the body is empty or not JSON. Returns SW_EIO when the daemon could not be
 * reached, SW_ETOO_LARGE, SW_ENOMEM, each after printing a message. */
int sw_client_request(struct sw_client *c, const char *method, const char *path, const json_t *body,
                      long timeout_ms, long *status, json_t **reply);

/* As sw_client_request, but only a 2xx reply with a JSON body succeeds (*reply is then
 * a new reference). A 404 returns SW_ENOT_FOUND, any other error reply SW_EINTERNAL,
 * a body that is not JSON SW_EBAD_JSON, each after printing the daemon's error. */
int sw_client_call(struct sw_client *c, const char *method, const char *path, const json_t *body,
                   long timeout_ms, json_t **reply);

/* The body of the last reply parsed (new reference), NULL when empty or not JSON: after
 * sw_client_call failed, the daemon's error reply, for what it says beside the error. */
json_t *sw_client_last_reply(const struct sw_client *c);

/* Adds a header ("If-Match: 3") to every later request of c. 0 or SW_ENOMEM. */
int sw_client_add_header(struct sw_client *c, const char *header);

/* sw_client_call on prefix, id (percent-encoded) and suffix, as in "/v1/tasks/",
 * "t_0193a4b2c8d90001", "/cancel". */
int sw_client_call_on(struct sw_client *c, const char *method, const char *prefix, const char *id,
                      const char *suffix, const json_t *body, long timeout_ms, json_t **reply);

/* Appends s to b percent-encoded, for a path segment or a query value. 0 or an
 * sw_buf error. */
int sw_client_escape(struct sw_buf *b, const char *s);

#endif
