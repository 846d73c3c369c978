/* SPDX-License-Identifier: MIT
 * ws.h - WebSocket (RFC 6455) at /v1/ws, through wslay: the HTTP upgrade is done by
 * libmicrohttpd, then the socket is driven by a uv_poll on the loop. Clients subscribe
 * to events and watch memory with JSON messages (see docs/api). */
#ifndef SW_WS_H
#define SW_WS_H

struct sw_server;

/* Closes every WebSocket connection (the daemon stops): a close frame, then the socket. */
void sw_ws_close_all(struct sw_server *s);
/* Open WebSocket connections (metrics). */
long sw_ws_count(struct sw_server *s);

#endif
