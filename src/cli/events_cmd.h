/* SPDX-License-Identifier: MIT
 * events_cmd.h - the "swarm events" command, and the following of the daemon's
 * Server-Sent Events streams that it shares with "swarm memory watch": messages parsed
 * as they come, a position kept, the stream resumed from it when the connection drops. */
#ifndef SW_CLI_EVENTS_CMD_H
#define SW_CLI_EVENTS_CMD_H

#include "cli/cli.h"

#include <stdint.h>

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_events_commands[];

/* One followed stream. Fill the fields above the line, then call sw_follow_run. */
struct sw_follow {
    struct sw_cli *cli; /* borrowed; its client is open */
    const char *noun;   /* what the messages are, for notes: "events", "changes" */
    /* Writes into path the path and query to GET, resuming after f->last. */
    int (*path_cb)(struct sw_follow *f, struct sw_buf *path);
    /* Prints one message, data being its parsed JSON (borrowed), as a line of a table;
     * with -o json it is not called: each message is printed as it came, on a line of
     * its own. Returns 0, or an SW_E* code that ends the follow. */
    int (*message_cb)(struct sw_follow *f, const json_t *data);
    /* Called once, when the daemon first answers the stream (NULL = nothing to do). */
    void (*ready_cb)(struct sw_follow *f);
    int64_t last;  /* the id of the last message seen: where the stream resumes */
    int64_t limit; /* end after this many messages; 0 = never */
    /* ---- kept by sw_follow_run */
    int64_t count; /* messages handed to message_cb */
};

/* Follows the stream until limit messages came, the daemon refuses its first request,
 * or message_cb fails; a dropped connection or a stream the daemon ended is resumed
 * from f->last after a pause, with a note on stderr, and so is a stream that could not
 * be reconnected (the daemon restarting). "event: gap" messages (the position was pruned) print a
 * note and move f->last on. Returns 0 when limit was reached; else an SW_E* code (printed). */
int sw_follow_run(struct sw_follow *f);

/* The last committed event sequence number, from the reply to GET path (a page of
 * /v1/events, "/v1/events?limit=1"): where a follow "from now" starts. 0, or the code
 * of sw_client_call, or SW_EBAD_JSON when the reply has no "last" (printed). */
int sw_events_last(struct sw_client *client, const char *path, int64_t *last);

/* Prints one line of a followed table: each cell padded to its width, two spaces
 * apart, the last one as it is. */
void sw_follow_row(const char *const *cells, const int *widths, int ncells);

#endif
