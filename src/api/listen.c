/* SPDX-License-Identifier: MIT
 * listen.c - creation of the listening sockets handed to the HTTP layer. */
#include "listen.h"
#include "core/error.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BACKLOG 1024

int sw_listen_unix(const char *path, int *out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        sw_log_error("http", "msg=\"socket path too long\" path=\"%s\" max=%zu", path,
                     sizeof sa.sun_path - 1);
        return SW_ECONFIG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SW_EIO;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        sw_log_error("http", "msg=\"another swarmd is serving this socket\" path=\"%s\"", path);
        close(fd);
        return SW_ECONFIG;
    }
    unlink(path);
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc || chmod(path, 0600) || listen(fd, BACKLOG)) {
        sw_log_error("http", "msg=\"cannot listen\" path=\"%s\" error=\"%s\"", path,
                     strerror(errno));
        close(fd);
        return SW_EIO;
    }
    *out = fd;
    return 0;
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

static int split_hostport(const char *hostport, char *host, size_t size, const char **port)
{
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL || colon[1] == '\0')
        return SW_ECONFIG;
    const char *h = hostport;
    size_t len = (size_t)(colon - hostport);
    if (len >= 2 && h[0] == '[' && h[len - 1] == ']')
        h++, len -= 2;
    if (len == 0) /* ":7070" = every interface */
        h = "0.0.0.0", len = 7;
    if (len >= size)
        return SW_ECONFIG;
    memcpy(host, h, len);
    host[len] = '\0';
    *port = colon + 1;
    return 0;
}

int sw_listen_check(const char *hostport)
{
    char host[256];
    const char *port;
    if (split_hostport(hostport, host, sizeof host, &port))
        return SW_ECONFIG;
    char *end;
    long p = strtol(port, &end, 10);
    return *end || end == port || p < 0 || p > 65535 ? SW_ECONFIG : 0;
}

int sw_listen_tcp(const char *hostport, int allow_public, int *out, char *bound, size_t size)
{
    char host[256];
    const char *port;
    if (split_hostport(hostport, host, sizeof host, &port)) {
        sw_log_error("config", "msg=\"--listen expects HOST:PORT\" value=\"%s\"", hostport);
        return SW_ECONFIG;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai) {
        sw_log_error("config", "msg=\"cannot resolve --listen\" value=\"%s\" error=\"%s\"",
                     hostport, gai_strerror(gai));
        return SW_ECONFIG;
    }
    if (!allow_public && !is_loopback(ai->ai_addr)) {
        sw_log_error("config",
                     "msg=\"refusing to listen on a non-loopback address without "
                     "--admin-token (set one, or listen on 127.0.0.1)\" value=\"%s\"",
                     hostport);
        freeaddrinfo(ai);
        return SW_ECONFIG;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, BACKLOG)) {
        sw_log_error("http", "msg=\"cannot listen\" addr=\"%s\" error=\"%s\"", hostport,
                     strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return SW_EIO;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    getsockname(fd, (struct sockaddr *)&ss, &len);
    int p = 0;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
        p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        snprintf(bound, size, "%s:%d", ip, p);
    } else {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
        p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        snprintf(bound, size, "[%s]:%d", ip, p);
    }
    *out = fd;
    return 0;
}
