/* SPDX-License-Identifier: MIT
 * supervisor.h - OTP-style supervision decisions, pure: what to do when a managed
 * agent's process exits (restart it, its siblings, or nothing; after what delay) and
 * when a swarm's restart intensity is exceeded (the swarm fails; its parent decides).
 * The fleet (src/api/fleet.c) carries the decisions out. */
#ifndef SW_SUPERVISOR_H
#define SW_SUPERVISOR_H

#include "model/swarm.h"
#include "model/template.h"

#include <stdint.h>

enum sw_sup_action {
    SW_SUP_STAY_DOWN = 0, /* policy says no restart (or the agent was stopped) */
    SW_SUP_RESTART_ONE,   /* one_for_one, or no swarm */
    SW_SUP_RESTART_ALL,   /* one_for_all: every agent of the swarm */
    SW_SUP_RESTART_REST,  /* rest_for_one: this agent and those started after it */
    SW_SUP_SWARM_FAILED,  /* intensity exceeded: the swarm fails, its parent decides */
};

/* An exit within this much run time counts as a crash loop: restarts back off (at least
 * one second apart); a longer run restarts at once. */
#define SW_SUP_FAST_EXIT_MS      5000
#define SW_SUP_MIN_LOOP_DELAY_MS 1000

struct sw_sup_exit {
    int exit_code; /* -1 when killed by a signal */
    int signal;
    int64_t uptime_ms;
    int stopped;    /* the agent was asked to stop */
    int fast_exits; /* consecutive fast exits before this one */
};

struct sw_sup_decision {
    enum sw_sup_action action;
    int64_t delay_ms;
    int fast_exits; /* the new count of consecutive fast exits */
};

/* Decides for an agent of template t in swarm sw (NULL for a standalone agent); notes
 * the restart in sw's intensity window. */
struct sw_sup_decision sw_supervisor_on_exit(const struct sw_template *t, struct sw_swarm *sw,
                                             const struct sw_sup_exit *e, int64_t now,
                                             uint64_t rand64);
/* A child swarm failed: what its parent does to it (restart it, or fail in turn). */
enum sw_sup_action sw_supervisor_on_child_failed(struct sw_swarm *parent, int64_t now);

#endif
