/* SPDX-License-Identifier: MIT
 * listen.h - listening sockets: the Unix socket (mode 0600; a live daemon on it is
 * refused, a stale file replaced) and TCP ("host:port", port 0 = any; a non-loopback
 * address only with an admin token, as Redis's protected mode). */
#ifndef SW_LISTEN_H
#define SW_LISTEN_H

#include <stddef.h>

/* Checks the form of a --listen value (HOST:PORT, [V6]:PORT, port 0-65535); 0 or
 * SW_ECONFIG. Does not resolve or bind. */
int sw_listen_check(const char *hostport);
int sw_listen_unix(const char *path, int *fd);
int sw_listen_tcp(const char *hostport, int allow_public, int *fd, char *bound, size_t size);

#endif
