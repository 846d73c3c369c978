/* SPDX-License-Identifier: MIT
 * endpoint.h - where the swarm client finds its daemon, and with which token. The URL
 * comes from --url, else $SWARM_URL, else the nearest .swarm/swarm.sock found walking
 * up from the current directory (as git finds .git), else $SWARM_HOME/swarm.sock. Two
 * URL forms: "http://host:port" (TCP) and "unix:/abs/path/swarm.sock". The token comes
 * from --token, else $SWARM_TOKEN. */
#ifndef SW_CLI_ENDPOINT_H
#define SW_CLI_ENDPOINT_H

#include <stddef.h>

struct sw_endpoint {
    char *url;          /* as named in messages: "unix:/x/swarm.sock", "http://h:8080" */
    char *base;         /* request URL prefix: "http://h:8080", or "http://localhost" */
    char *socket_path;  /* the Unix socket, NULL for TCP */
    char *token;        /* NULL = send no Authorization header */
    const char *source; /* "--url", "SWARM_URL", "SWARM_HOME" or ".swarm/swarm.sock" */
};

/* Fills ep (free it with sw_endpoint_free whatever this returns). flag_url and
 * flag_token are the command-line values (NULL if not given). Returns 0; SW_EINVAL
 * for a malformed URL; SW_EIO when no daemon socket was found; SW_ENOMEM. On error,
 * a one-line message is written into err. */
int sw_endpoint_find(struct sw_endpoint *ep, const char *flag_url, const char *flag_token,
                     char *err, size_t errsize);
void sw_endpoint_free(struct sw_endpoint *ep);

#endif
