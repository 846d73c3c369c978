/* SPDX-License-Identifier: MIT
 * endpoint.c - finding the daemon: flag, environment, the nearest .swarm/swarm.sock
 * above the current directory, then $SWARM_HOME. It only looks at the file system
 * (one stat per directory level); connecting is the client's job. */
#include "cli/endpoint.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENDPOINT_SOCKET_NAME "swarm.sock"

static const char *getenv_set(const char *name)
{
    const char *value = getenv(name);
    return value && *value ? value : NULL;
}

static int parse_unix_url(struct sw_endpoint *ep, const char *url)
{
    const char *path = url + strlen("unix:");

    if (strncmp(path, "//", 2) == 0)
        path += 2; /* unix:///abs/path */
    if (*path == '\0')
        return SW_EINVAL;
    ep->socket_path = sw_strdup(path);
    ep->base = sw_strdup("http://localhost");
    return ep->socket_path && ep->base ? 0 : SW_ENOMEM;
}

static int parse_http_url(struct sw_endpoint *ep, const char *url)
{
    const char *host = strstr(url, "://") + 3;
    size_t len = strlen(url);

    while (len > 0 && url[len - 1] == '/')
        len--;
    if (url + len <= host)
        return SW_EINVAL;
    ep->base = sw_strndup(url, len);
    return ep->base ? 0 : SW_ENOMEM;
}

static int endpoint_set_url(struct sw_endpoint *ep, const char *url, char *err, size_t errsize)
{
    int rc = SW_EINVAL;

    if (strncmp(url, "unix:", 5) == 0)
        rc = parse_unix_url(ep, url);
    else if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
        rc = parse_http_url(ep, url);
    if (rc == SW_EINVAL)
        snprintf(err, errsize, "%s: '%s' is not http://HOST:PORT or unix:/PATH/swarm.sock",
                 ep->source, url);
    if (rc)
        return rc;
    ep->url = sw_strdup(url);
    return ep->url ? 0 : SW_ENOMEM;
}

/* Looks for dir/.swarm/swarm.sock in the current directory and each parent. Returns
 * 0 with *out_path (caller frees), SW_EIO when there is none, SW_ENOMEM. */
static int find_socket_upwards(char **out_path)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    struct stat st;

    if (getcwd(dir, sizeof dir) == NULL)
        return SW_EIO;
    for (;;) {
        const char *prefix = strcmp(dir, "/") == 0 ? "" : dir;
        snprintf(path, sizeof path, "%s/.swarm/" ENDPOINT_SOCKET_NAME, prefix);
        if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
            *out_path = sw_strdup(path);
            return *out_path ? 0 : SW_ENOMEM;
        }
        char *slash = strrchr(dir, '/');
        if (slash == NULL || strcmp(dir, "/") == 0)
            return SW_EIO;
        slash[slash == dir] = '\0'; /* "/a" becomes "/", "/a/b" becomes "/a" */
    }
}

/* Finds the socket when no URL was given; *url_out is "unix:<path>" (caller frees). */
static int find_socket_url(struct sw_endpoint *ep, char **url_out, char *err, size_t errsize)
{
    struct sw_buf url;
    char *path = NULL;
    const char *home;
    int rc = find_socket_upwards(&path);

    sw_buf_init(&url, PATH_MAX + 64);
    if (rc == SW_ENOMEM)
        goto out;
    if (rc == 0) {
        ep->source = ".swarm/swarm.sock";
        rc = sw_buf_appendf(&url, "unix:%s", path);
    } else if ((home = getenv_set("SWARM_HOME")) != NULL) {
        ep->source = "SWARM_HOME";
        rc = sw_buf_appendf(&url, "unix:%s/" ENDPOINT_SOCKET_NAME, home);
    } else {
        snprintf(err, errsize,
                 "no swarmd socket found (no .swarm/" ENDPOINT_SOCKET_NAME
                 " in this directory or above, and SWARM_URL and SWARM_HOME are not set); "
                 "start one with 'swarmd' in this directory, or pass --url");
        rc = SW_EIO;
    }
    if (rc == 0)
        *url_out = sw_buf_detach(&url, NULL);
out:
    sw_buf_free(&url);
    sw_free(path);
    return rc;
}

int sw_endpoint_find(struct sw_endpoint *ep, const char *flag_url, const char *flag_token,
                     char *err, size_t errsize)
{
    const char *token = flag_token ? flag_token : getenv_set("SWARM_TOKEN");
    const char *url = flag_url;
    char *found = NULL;
    int rc = 0;

    memset(ep, 0, sizeof *ep);
    snprintf(err, errsize, "out of memory");
    ep->source = "--url";
    if (url == NULL && (url = getenv_set("SWARM_URL")) != NULL)
        ep->source = "SWARM_URL";
    if (url == NULL) {
        rc = find_socket_url(ep, &found, err, errsize);
        url = found;
    }
    if (rc == 0)
        rc = endpoint_set_url(ep, url, err, errsize);
    if (rc == 0 && token) {
        ep->token = sw_strdup(token);
        rc = ep->token ? 0 : SW_ENOMEM;
    }
    sw_free(found);
    return rc;
}

void sw_endpoint_free(struct sw_endpoint *ep)
{
    sw_free(ep->url);
    sw_free(ep->base);
    sw_free(ep->socket_path);
    sw_free(ep->token);
    memset(ep, 0, sizeof *ep);
}
