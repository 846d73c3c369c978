/* SPDX-License-Identifier: MIT
 * admission.c - load shedding at submit: the max_queue check and the token buckets. A
 * bucket holds up to `burst` tokens, gains `rate` per second and gives one per task; a
 * full bucket is as good as none, so full ones are dropped when the buckets grow many. */
#include "admission.h"
#include "http.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "model/swarm.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SWEEP_MIN 1024

struct bucket {
    double tokens;
    int64_t at_ms; /* when tokens was last brought up to date */
    char *name;    /* a swarm's bucket: the map's key (owned) */
};

struct limit {
    double rate; /* tokens per second; 0 = no limit */
    double burst;
};

void sw_admission_init(struct sw_admission *a)
{
    memset(a, 0, sizeof *a);
    sw_map_init(&a->callers);
    sw_strmap_init(&a->swarms);
    a->sweep_at = SWEEP_MIN;
}

void sw_admission_free(struct sw_admission *a)
{
    size_t pos = 0;
    void *value;
    while (sw_map_next(&a->callers, &pos, NULL, &value))
        sw_free(value);
    pos = 0;
    while (sw_strmap_next(&a->swarms, &pos, NULL, &value)) {
        struct bucket *b = value;
        sw_free(b->name);
        sw_free(b);
    }
    sw_map_free(&a->callers);
    sw_strmap_free(&a->swarms);
}

static struct limit caller_limit(const struct sw_server *s)
{
    struct limit l = {(double)s->cfg.rate_limit, (double)s->cfg.rate_burst};
    if (l.burst < 1)
        l.burst = l.rate < 1 ? 1 : l.rate;
    return l;
}

static struct limit swarm_limit(const struct sw_swarm *sw)
{
    struct limit l = {0, 1};
    if (sw && sw->rate_per_second > 0) {
        l.rate = sw->rate_per_second;
        l.burst = sw->rate_burst < 1 ? 1 : (double)sw->rate_burst;
    }
    return l;
}

static void refill(struct bucket *b, struct limit l, int64_t now)
{
    if (now > b->at_ms) {
        b->tokens += (double)(now - b->at_ms) * l.rate / 1000.0;
        b->at_ms = now;
    }
    if (b->tokens > l.burst)
        b->tokens = l.burst;
}

/* Milliseconds until the bucket holds n tokens (n at most the burst). */
static int64_t bucket_wait_ms(const struct bucket *b, struct limit l, double n)
{
    if (n > l.burst)
        n = l.burst;
    if (b->tokens >= n)
        return 0;
    return (int64_t)((n - b->tokens) * 1000.0 / l.rate) + 1;
}

static struct bucket *bucket_new(struct limit l, int64_t now)
{
    struct bucket *b = sw_calloc(1, sizeof *b);
    if (b) {
        b->tokens = l.burst;
        b->at_ms = now;
    }
    return b;
}

static struct bucket *caller_bucket(struct sw_admission *a, uint64_t id, struct limit l,
                                    int64_t now)
{
    struct bucket *b = sw_map_get(&a->callers, id);
    if (b)
        return b;
    if ((b = bucket_new(l, now)) != NULL && sw_map_put(&a->callers, id, b)) {
        sw_free(b);
        b = NULL;
    }
    return b;
}

static struct bucket *swarm_bucket(struct sw_admission *a, const char *swarm, struct limit l,
                                   int64_t now)
{
    struct bucket *b = sw_strmap_get(&a->swarms, swarm);
    if (b)
        return b;
    b = bucket_new(l, now);
    if (b && ((b->name = sw_strdup(swarm)) == NULL || sw_strmap_put(&a->swarms, b->name, b))) {
        sw_free(b->name);
        sw_free(b);
        b = NULL;
    }
    return b;
}

/* Drops the buckets that are full again (or whose swarm has no rate any more). */
static void sweep(struct sw_server *s, int64_t now)
{
    struct sw_admission *a = &s->admission;
    struct limit cl = caller_limit(s);
    size_t pos = 0;
    uint64_t id;
    void *value;
    while (sw_map_next(&a->callers, &pos, &id, &value)) {
        struct bucket *b = value;
        refill(b, cl, now);
        if (cl.rate <= 0 || b->tokens >= cl.burst)
            sw_free(sw_map_del(&a->callers, id));
    }
    pos = 0;
    while (sw_strmap_next(&a->swarms, &pos, NULL, &value)) {
        struct bucket *b = value;
        struct limit l = swarm_limit(sw_strmap_get(&s->swarms, b->name));
        refill(b, l, now);
        if (l.rate <= 0 || b->tokens >= l.burst) {
            sw_strmap_del(&a->swarms, b->name);
            sw_free(b->name);
            sw_free(b);
        }
    }
    size_t left = a->callers.count + a->swarms.count;
    a->sweep_at = left * 2 > SWEEP_MIN ? left * 2 : SWEEP_MIN;
}

static int refuse(struct sw_server *s, struct sw_refusal *why, int rc, int64_t wait_ms,
                  const char *field)
{
    why->rc = rc;
    why->retry_after_s = wait_ms <= 1000 ? 1 : (wait_ms + 999) / 1000;
    why->field = field;
    s->metrics.refused[rc == SW_EQUEUE_FULL ? SW_REFUSED_QUEUE_FULL : SW_REFUSED_RATE_LIMITED]++;
    return rc;
}

static int check_queue(struct sw_server *s, const struct sw_swarm *sw, int n,
                       struct sw_refusal *why)
{
    if (sw == NULL || sw->max_queue <= 0)
        return 0;
    int64_t waiting = sw_sched_swarm_waiting(&s->sched, sw->name);
    if (waiting + n <= sw->max_queue)
        return 0;
    snprintf(why->message, sizeof why->message,
             "swarm \"%.63s\" has %lld tasks queued or scheduled, its max_queue is %lld: "
             "submit again later",
             sw->name, (long long)waiting, (long long)sw->max_queue);
    return refuse(s, why, SW_EQUEUE_FULL, 1000, "swarm");
}

int sw_admission_check(struct sw_server *s, const struct sw_agent *caller, const char *swarm, int n,
                       int64_t now, struct sw_refusal *why)
{
    struct sw_admission *a = &s->admission;
    const struct sw_swarm *sw = swarm ? sw_strmap_get(&s->swarms, swarm) : NULL;
    struct limit cl = caller_limit(s), sl = swarm_limit(sw);
    struct bucket *cb = NULL, *sb = NULL;
    int rc = check_queue(s, sw, n, why);
    if (rc)
        return rc;
    if (a->callers.count + a->swarms.count >= a->sweep_at)
        sweep(s, now);
    if (cl.rate > 0 && (cb = caller_bucket(a, caller ? caller->id : 0, cl, now)) != NULL)
        refill(cb, cl, now);
    if (sl.rate > 0 && (sb = swarm_bucket(a, sw->name, sl, now)) != NULL)
        refill(sb, sl, now);
    int64_t caller_wait = cb ? bucket_wait_ms(cb, cl, n) : 0;
    int64_t swarm_wait = sb ? bucket_wait_ms(sb, sl, n) : 0;
    if (swarm_wait > 0 && swarm_wait >= caller_wait) {
        snprintf(why->message, sizeof why->message,
                 "swarm \"%.63s\" takes at most %g submits per second (burst %g): submit again "
                 "later",
                 sw->name, sl.rate, sl.burst);
        return refuse(s, why, SW_ERATE_LIMITED, swarm_wait, "swarm");
    }
    if (caller_wait > 0) {
        snprintf(why->message, sizeof why->message,
                 "this token may submit at most %g tasks per second (burst %g): submit again "
                 "later",
                 cl.rate, cl.burst);
        return refuse(s, why, SW_ERATE_LIMITED, caller_wait, NULL);
    }
    if (cb)
        cb->tokens -= (double)n > cl.burst ? cl.burst : (double)n;
    if (sb)
        sb->tokens -= (double)n > sl.burst ? sl.burst : (double)n;
    return 0;
}

/* The agent behind the request: its own route's agent, or the agent whose token it bears
 * (an agent token on the Unix socket, where every caller may submit). */
static const struct sw_agent *request_caller(struct sw_request *req)
{
    if (req->agent)
        return req->agent;
    if (req->server->cfg.rate_limit <= 0)
        return NULL; /* nobody's bucket is looked at */
    const char *auth = sw_request_header(req, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    return sw_server_agent_by_token(req->server, auth + 7);
}

int sw_admission_admit(struct sw_request *req, const char *swarm, int n)
{
    struct sw_refusal why;
    int rc = sw_admission_check(req->server, request_caller(req), swarm, n,
                                sw_server_now(req->server), &why);
    if (rc == 0)
        return 0;
    sw_reply_error(req, rc, why.field, "%s", why.message);
    req->extra_header_name = "Retry-After";
    snprintf(req->extra_header, sizeof req->extra_header, "%lld", (long long)why.retry_after_s);
    return rc;
}
