/* SPDX-License-Identifier: MIT
 * stream.c - copying text replies to standard output, or line by line to a callback,
 * while they arrive. Each source gets its own libcurl easy handle, all driven by one
 * multi handle in this thread, so lines from several agents interleave whole. The
 * multi functions are resolved from the libcurl that curl_lib.c loaded (dlopen with
 * RTLD_NOLOAD finds the same one). */
#include "cli/stream.h"

#include "cli/client.h"
#include "cli/curl_lib.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <dlfcn.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define STREAM_CONNECT_TIMEOUT_MS 5000L
#define STREAM_WAIT_MS            1000
#define STREAM_ERROR_MAX          ((size_t)64 << 10) /* of an error reply's body kept */
#define STREAM_URL_MAX            16384

/* The multi interface functions, resolved once. */
struct stream_multi_lib {
    CURLM *(*init)(void);
    CURLMcode (*add_handle)(CURLM *multi, CURL *curl);
    CURLMcode (*remove_handle)(CURLM *multi, CURL *curl);
    CURLMcode (*perform)(CURLM *multi, int *running);
    CURLMcode (*wait)(CURLM *multi, struct curl_waitfd extra[], unsigned int nextra, int timeout_ms,
                      int *numfds);
    CURLMsg *(*info_read)(CURLM *multi, int *left);
    CURLMcode (*cleanup)(CURLM *multi);
};

/* One reply being copied. */
struct stream {
    const struct sw_stream_source *source; /* borrowed */
    const struct sw_curl_lib *lib;         /* borrowed */
    CURL *curl;
    struct curl_slist *headers;
    long status;         /* the HTTP status, once the body starts */
    CURLcode result;     /* how the transfer ended */
    int done;            /* result is set */
    int stop;            /* what ended the copy early: SW_STREAM_STOP or an SW_E* code */
    struct sw_buf line;  /* prefix mode: the start of a line not ended yet */
    struct sw_buf error; /* the body of an error reply */
    char errbuf[CURL_ERROR_SIZE];
};

static const char *const stream_lib_names[] = {"libcurl.so.4", "libcurl.so", NULL};

static int multi_lib_load(struct stream_multi_lib *m)
{
    static const struct {
        const char *name;
        size_t offset;
    } symbols[] = {
        {"curl_multi_init", offsetof(struct stream_multi_lib, init)},
        {"curl_multi_add_handle", offsetof(struct stream_multi_lib, add_handle)},
        {"curl_multi_remove_handle", offsetof(struct stream_multi_lib, remove_handle)},
        {"curl_multi_perform", offsetof(struct stream_multi_lib, perform)},
        {"curl_multi_wait", offsetof(struct stream_multi_lib, wait)},
        {"curl_multi_info_read", offsetof(struct stream_multi_lib, info_read)},
        {"curl_multi_cleanup", offsetof(struct stream_multi_lib, cleanup)},
    };
    void *handle = NULL;

    for (const char *const *name = stream_lib_names; *name && handle == NULL; name++)
        handle = dlopen(*name, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (handle == NULL)
        return SW_EINTERNAL;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *symbol = dlsym(handle, symbols[i].name);
        if (symbol == NULL)
            return SW_EINTERNAL;
        /* POSIX: a function's address fits in, and round-trips through, a void * */
        memcpy((char *)m + symbols[i].offset, &symbol, sizeof symbol);
    }
    return 0;
}

/* Hands one whole line to the source's callback: the start kept in s->line, then text. */
static int stream_emit_cb(struct stream *s, const char *text, size_t len)
{
    const struct sw_stream_source *src = s->source;
    int rc = 0;

    if (s->line.len == 0)
        return src->line_cb(src->arg, text, len);
    rc = sw_buf_append(&s->line, text, len);
    if (rc == 0)
        rc = src->line_cb(src->arg, s->line.data, s->line.len);
    sw_buf_reset(&s->line);
    return rc;
}

/* Writes one whole line: the prefix, the start kept in s->line, then text. */
static int stream_emit(struct stream *s, const char *text, size_t len)
{
    if (s->source->line_cb)
        return stream_emit_cb(s, text, len);
    int rc = fprintf(stdout, "%s%s%.*s\n", s->source->prefix, s->line.len ? s->line.data : "",
                     (int)len, text);

    sw_buf_reset(&s->line);
    return rc < 0 ? SW_EIO : 0;
}

/* Prefix mode: writes the lines that data ends, keeps the rest for later. */
static int stream_lines(struct stream *s, const char *data, size_t len)
{
    const char *end = data + len, *newline;
    int rc = 0;

    while (rc == 0 && (newline = memchr(data, '\n', (size_t)(end - data))) != NULL) {
        rc = stream_emit(s, data, (size_t)(newline - data));
        data = newline + 1;
    }
    if (rc == 0 && data < end) {
        rc = sw_buf_append(&s->line, data, (size_t)(end - data));
        if (rc == SW_ETOO_LARGE && !s->source->line_cb) /* a very long line: write it */
            rc = stream_emit(s, data, (size_t)(end - data));
    }
    if (rc == SW_ETOO_LARGE)
        fprintf(stderr, "swarm: a line from the daemon is longer than %zu MiB\n",
                s->line.max >> 20);
    if (rc == 0 && fflush(stdout) != 0)
        rc = SW_EIO;
    return rc;
}

static size_t stream_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct stream *s = arg;
    size_t len = size * nmemb;

    if (s->status == 0)
        s->lib->easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status < 200 || s->status >= 300) {
        sw_buf_append(&s->error, data, len); /* past the ceiling, the rest is dropped */
        return len;
    }
    if (s->source->prefix || s->source->line_cb) {
        s->stop = stream_lines(s, data, len);
        return s->stop == 0 ? len : 0;
    }
    if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
        return 0;
    return len;
}

static int stream_headers(const struct sw_curl_lib *lib, const struct sw_endpoint *ep,
                          const char *extra, struct curl_slist **headers)
{
    struct sw_buf auth;
    struct curl_slist *list = lib->slist_append(NULL, "Accept: text/plain");
    int rc = list ? 0 : SW_ENOMEM;

    *headers = list;
    if (rc == 0 && extra && (list = lib->slist_append(*headers, extra)) == NULL)
        rc = SW_ENOMEM;
    if (rc || ep->token == NULL)
        return rc;
    sw_buf_init(&auth, 64 * 1024);
    rc = sw_buf_appendf(&auth, "Authorization: Bearer %s", ep->token);
    if (rc == 0 && (list = lib->slist_append(*headers, auth.data)) == NULL)
        rc = SW_ENOMEM;
    if (rc == 0)
        *headers = list;
    sw_buf_free(&auth);
    return rc;
}

/* Prepares the easy handle of s for url. */
static int stream_setup(struct stream *s, const struct sw_endpoint *ep, const char *url, int follow)
{
    const struct sw_curl_lib *lib = s->lib;
    int rc = stream_headers(lib, ep, s->source->header, &s->headers);

    if (rc)
        return rc;
    s->curl = lib->easy_init();
    if (s->curl == NULL)
        return SW_ENOMEM;
    lib->easy_setopt(s->curl, CURLOPT_URL, url);
    lib->easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
    lib->easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, stream_write_cb);
    lib->easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
    lib->easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
    lib->easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    lib->easy_setopt(s->curl, CURLOPT_USERAGENT, "swarm/" SW_VERSION);
    lib->easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, STREAM_CONNECT_TIMEOUT_MS);
    lib->easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, follow ? 0L : SW_CLIENT_TIMEOUT_MS);
    if (ep->socket_path) {
        lib->easy_setopt(s->curl, CURLOPT_UNIX_SOCKET_PATH, ep->socket_path);
        lib->easy_setopt(s->curl, CURLOPT_PROXY, "");
    }
    return 0;
}

/* Drives every transfer to its end. */
static int stream_perform(const struct stream_multi_lib *m, CURLM *multi, struct stream *streams,
                          size_t n)
{
    int running = 1, left;
    CURLMsg *msg;

    while (running > 0) {
        if (m->perform(multi, &running) != CURLM_OK)
            return SW_EINTERNAL;
        while ((msg = m->info_read(multi, &left)) != NULL) {
            for (size_t i = 0; msg->msg == CURLMSG_DONE && i < n; i++)
                if (streams[i].curl == msg->easy_handle) {
                    streams[i].result = msg->data.result;
                    streams[i].done = 1;
                }
        }
        if (running > 0 && m->wait(multi, NULL, 0, STREAM_WAIT_MS, NULL) != CURLM_OK)
            return SW_EINTERNAL;
    }
    return 0;
}

/* Says how one transfer ended when it did not end well; returns its code. */
static int stream_report(struct stream *s, const struct sw_endpoint *ep)
{
    const json_t *error;
    const char *code, *message;
    json_t *body;

    if (s->source->prefix && s->line.len)
        stream_emit(s, "", 0); /* a last line without its newline */
    if (s->stop == SW_STREAM_STOP)
        return 0;
    if (s->stop && s->stop != SW_EIO)
        return s->stop; /* the callback's own failure, said where it happened */
    if (s->done && s->result == CURLE_WRITE_ERROR) {
        fprintf(stderr, "swarm: cannot write to standard output\n");
        return SW_EIO;
    }
    if (!s->done || s->result != CURLE_OK) {
        fprintf(stderr, "swarm: cannot reach swarmd at %s (from %s): %s\n", ep->url, ep->source,
                s->errbuf[0] ? s->errbuf : s->lib->easy_strerror(s->result));
        return SW_EIO;
    }
    if (s->status == 0)
        s->lib->easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status >= 200 && s->status < 300)
        return 0;
    body = json_loadb(s->error.len ? s->error.data : "", s->error.len, 0, NULL);
    error = json_object_get(body, "error");
    code = json_string_value(json_object_get(error, "code"));
    message = json_string_value(json_object_get(error, "message"));
    if (code)
        fprintf(stderr, "swarm: %s: %s\n", code, message ? message : "(no message)");
    else
        fprintf(stderr, "swarm: HTTP %ld from %s to GET %s\n", s->status, ep->url, s->source->path);
    json_decref(body);
    return s->status == 404 ? SW_ENOT_FOUND : SW_EINTERNAL;
}

static int stream_transfer(const struct sw_curl_lib *lib, const struct sw_endpoint *ep,
                           struct stream *streams, const struct sw_stream_source *sources, size_t n,
                           int follow)
{
    struct stream_multi_lib m;
    CURLM *multi = NULL;
    struct sw_buf url;
    int rc = multi_lib_load(&m), status, first = 0;

    sw_buf_init(&url, STREAM_URL_MAX);
    if (rc) {
        fprintf(stderr, "swarm: libcurl has no multi interface\n");
        return rc;
    }
    if ((multi = m.init()) == NULL)
        rc = SW_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        streams[i].source = &sources[i];
        streams[i].lib = lib;
        sw_buf_reset(&url);
        rc = sw_buf_appendf(&url, "%s%s", ep->base, sources[i].path);
        if (rc == 0)
            rc = stream_setup(&streams[i], ep, url.data, follow);
        if (rc == 0 && m.add_handle(multi, streams[i].curl) != CURLM_OK)
            rc = SW_ENOMEM;
    }
    if (rc == 0)
        rc = stream_perform(&m, multi, streams, n);
    for (size_t i = 0; i < n && rc == 0; i++) /* the first failure decides the code */
        if ((status = stream_report(&streams[i], ep)) != 0 && first == 0)
            first = status;
    for (size_t i = 0; i < n; i++) {
        if (streams[i].curl) {
            m.remove_handle(multi, streams[i].curl);
            lib->easy_cleanup(streams[i].curl);
        }
        lib->slist_free_all(streams[i].headers);
    }
    if (multi)
        m.cleanup(multi);
    sw_buf_free(&url);
    return rc ? rc : first;
}

int sw_stream_run(const struct sw_endpoint *ep, const struct sw_stream_source *sources, size_t n,
                  int follow)
{
    const struct sw_curl_lib *lib;
    struct stream *streams = sw_calloc(n + 1, sizeof *streams);
    char err[256];
    int rc = streams ? sw_curl_lib_load(&lib, err, sizeof err) : SW_ENOMEM;

    if (rc == SW_EINTERNAL)
        fprintf(stderr, "swarm: %s\n", err);
    if (rc == 0 && lib->global_init(strncmp(ep->base, "https:", 6) == 0 ? CURL_GLOBAL_DEFAULT
                                                                        : CURL_GLOBAL_NOTHING))
        rc = SW_ENOMEM;
    if (rc) {
        sw_free(streams);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        sw_buf_init(&streams[i].line,
                    sources[i].line_cb ? SW_CLIENT_MAX_REPLY : SW_STREAM_LINE_MAX);
        sw_buf_init(&streams[i].error, STREAM_ERROR_MAX);
    }
    rc = stream_transfer(lib, ep, streams, sources, n, follow);
    for (size_t i = 0; i < n; i++) {
        sw_buf_free(&streams[i].line);
        sw_buf_free(&streams[i].error);
    }
    lib->global_cleanup();
    sw_free(streams);
    fflush(stdout);
    return rc;
}
