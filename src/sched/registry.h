/* SPDX-License-Identifier: MIT
 * registry.h - the capability registry: which agents and swarms can serve a capability,
 * how loaded they are, in what order the router would pick them, and how the
 * capability's tasks fared lately.
 *
 * A capability is a name with an optional major version: "resize", "resize@2". A
 * request for "resize@2" is served only by providers of version 2; a bare "resize" is
 * served by any version and prefers the highest. A provider that lists a bare "resize"
 * has version 0 (unversioned): it serves bare requests (and "resize@0", the same thing
 * spelled out), never "resize@1" or above.
 *
 * Providers are read from the live state at each call (the scheduler's agents and
 * queues, the swarms and their templates: a swarm provides what its template lists,
 * also when scaled to zero or stopped, and what its member agents list), so an answer
 * is never stale. What the registry keeps itself is, per capability name, a window of
 * the attempts that ended in the last five minutes (counts, and a histogram of the run
 * times of successes), in 30-second slots, fed from task events. Pure: no I/O and no
 * clock (every call takes `now`). */
#ifndef SW_REGISTRY_H
#define SW_REGISTRY_H

#include "core/map.h"
#include "model/fields.h"
#include "model/swarm.h"
#include "sched/sched.h"

#include <stddef.h>
#include <stdint.h>

#define SW_CAP_WINDOW_MS 300000 /* statistics cover the last five minutes */
#define SW_CAP_SLOT_MS   30000  /* in slots of 30 s: the window moves by 30 s steps */
#define SW_CAP_SLOTS     (SW_CAP_WINDOW_MS / SW_CAP_SLOT_MS)
/* Run-time histogram: 0..15 ms exact, then 8 buckets per power of two (within 6.25%
 * of the value) up to 2^32 ms; longer runs count in the last bucket. */
#define SW_CAP_EXACT_MS    16
#define SW_CAP_SUBBUCKETS  8
#define SW_CAP_MAX_OCTAVE  31
#define SW_CAP_BUCKETS     (SW_CAP_EXACT_MS + (SW_CAP_MAX_OCTAVE - 3) * SW_CAP_SUBBUCKETS)
#define SW_REGISTRY_NAMES  4096 /* capability names with statistics kept */
#define SW_SELECTOR_MAX    64   /* key=value pairs in a label selector */
#define SW_SELECTOR_KEYLEN 128

/* ---- names and versions ---- */

/* Splits a valid capability name: *base_len bytes of base name, *version its major
 * version (0 when it has none). */
void sw_capability_split(const char *name, size_t *base_len, int *version);
/* 1 if a provider listing `provided` serves a request for `requested` (*version: the
 * provided version), else 0. */
int sw_capability_serves(const char *provided, const char *requested, int *version);

/* ---- statistics ---- */

struct sw_cap_slot {
    int64_t period; /* now / SW_CAP_SLOT_MS of the 30 s it counts */
    uint32_t succeeded, failed;
    uint32_t runs[SW_CAP_BUCKETS]; /* successes by run time */
};

struct sw_cap_stats {
    char *name;                /* owned */
    struct sw_cap_slot *slots; /* owned, SW_CAP_SLOTS; NULL when the window is empty */
    int64_t last_at;           /* when the last attempt ended */
    uint64_t succeeded_total, failed_total;
};

/* Attempts added up over one or more names, for percentiles. */
struct sw_cap_window {
    uint64_t succeeded, failed;
    uint64_t runs[SW_CAP_BUCKETS];
};

struct sw_registry {
    struct sw_strmap stats; /* name -> struct sw_cap_stats; a zeroed registry is empty */
};

void sw_registry_init(struct sw_registry *r);
void sw_registry_free(struct sw_registry *r);
/* Counts one attempt of capability that ended at now: ok with its run time, or a
 * failure. 0, SW_ENOMEM, or SW_ELIMIT when SW_REGISTRY_NAMES names are kept and none
 * has an empty window to give up. */
int sw_registry_record(struct sw_registry *r, const char *capability, int ok, int64_t run_ms,
                       int64_t now);
/* Feeds a task event: a success (run time = finished_at - started_at) or a failed
 * attempt (attempt failed, dead) of a task that ran. Other events are ignored. */
void sw_registry_task_event(struct sw_registry *r, const struct sw_task *t, enum sw_task_event ev,
                            int64_t now);
/* The statistics kept for exactly this name; borrowed, NULL when none. */
const struct sw_cap_stats *sw_registry_stats(const struct sw_registry *r, const char *name);
/* Adds the slots of st inside the window ending at now to w. */
void sw_cap_window_add(struct sw_cap_window *w, const struct sw_cap_stats *st, int64_t now);
/* The q-quantile (0 < q <= 1) of the run times in w in ms; -1 when w has no success. */
int64_t sw_cap_window_quantile(const struct sw_cap_window *w, double q);

/* ---- views of the live state ---- */

/* What the registry reads (borrowed). */
struct sw_registry_view {
    const struct sw_sched *sched;
    const struct sw_strmap *swarms;    /* name -> struct sw_swarm */
    const struct sw_strmap *templates; /* name -> struct sw_template */
};

struct sw_cap_counts {
    int ready, busy, total; /* agents, total in any state */
};

/* One capability as the registry sees it. Names are borrowed from the live state:
 * use the entry before the state changes (within one loop turn). */
struct sw_cap_entry {
    const char *name;
    int version;
    struct sw_cap_counts agents;
    const char **swarms; /* owned array of borrowed names, by name */
    size_t nswarms;
    int64_t queued, scheduled, running; /* the scheduler's live task counts */
    uint64_t succeeded, failed;         /* attempts in the window */
    int64_t p50_ms, p95_ms;             /* run times of successes; -1 when none */
    struct sw_strmap swarm_set;         /* internal: swarms seen while building */
};

struct sw_cap_list {
    struct sw_cap_entry *entries; /* owned */
    size_t n, cap;
    struct sw_strmap index; /* internal: name -> entry position + 1 */
};

/* Every capability that an agent or swarm provides, that has live tasks, or that has
 * statistics: one entry per name as it is spelled, by base name then version. */
int sw_registry_list(struct sw_registry *r, const struct sw_registry_view *v, int64_t now,
                     struct sw_cap_list *out);
/* What a request for name matches: *total adds up every provider, task and attempt of
 * the names it matches (an agent or swarm counted once), out lists those names, the
 * highest version first. SW_ENOT_FOUND when nothing matches. Free both. */
int sw_registry_describe(struct sw_registry *r, const struct sw_registry_view *v, const char *name,
                         int64_t now, struct sw_cap_entry *total, struct sw_cap_list *out);
void sw_cap_entry_free(struct sw_cap_entry *e);
void sw_cap_list_free(struct sw_cap_list *l);

/* ---- discovery ---- */

/* A label selector: every key must have this value. */
struct sw_selector {
    size_t n;
    char *keys[SW_SELECTOR_MAX]; /* owned */
    char *values[SW_SELECTOR_MAX];
};

/* Parses "k=v,k2=v2" (NULL or "" = no selector); on error fills err naming `field`. */
int sw_selector_parse(const char *text, const char *field, struct sw_selector *out,
                      struct sw_field_error *err);
void sw_selector_free(struct sw_selector *sel);
/* 1 if every pair of sel is in labels (compact JSON object text or NULL), looked up
 * in fallback (the same) for keys labels lacks. */
int sw_selector_matches(const struct sw_selector *sel, const char *labels, const char *fallback);

struct sw_discover_agent {
    const struct sw_agent *agent; /* borrowed */
    const char *capability;       /* the name it serves the request with (borrowed) */
    int version;
    int free_slots; /* slots - running while it runs, else 0 */
    int distance;   /* from the asking swarm: see sw_registry_distance */
};

struct sw_discover_swarm {
    const struct sw_swarm *swarm; /* borrowed */
    const char *capability;       /* its highest matching name (borrowed) */
    int version;
    struct sw_cap_counts agents; /* its agents that serve the request */
    int distance;
};

struct sw_discovery {
    struct sw_discover_agent *agents; /* owned, in the router's order */
    size_t nagents;
    struct sw_discover_swarm *swarms; /* owned, in the router's order */
    size_t nswarms;
};

/* The agents and swarms that could serve a request for capability (label selector
 * sel, may be empty), asked from swarm `from` (NULL: a client, from the root), in the
 * order of sw_registry_order. A swarm qualifies by its template or member agents, and
 * by its labels then its template's; an agent by its labels then its swarm's. */
int sw_registry_discover(const struct sw_registry_view *v, const char *capability,
                         const struct sw_selector *sel, const char *from, struct sw_discovery *out);
void sw_discovery_free(struct sw_discovery *d);
/* How far swarm `to` is from swarm `from`, for ordering: 0 when from is NULL (no
 * origin) or the same swarm, 1 for no swarm (an agent of none), else the hops of the
 * route along the swarm tree (route.h; a forbidden route counts its hops too). */
int sw_registry_distance(const struct sw_registry_view *v, const char *from, const char *to);
/* Puts d in the order the router picks: agents by distance, then ready before busy
 * before any other state (or an open breaker), then the highest version, then most
 * free slots, then name;
 * swarms by distance, then fewest busy agents, then the highest version, then name. */
void sw_registry_order(struct sw_discovery *d);
/* 1 if name is a swarm: defined, or named by an agent. */
int sw_registry_swarm_known(const struct sw_registry_view *v, const char *name);

#endif
