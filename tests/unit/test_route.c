/* SPDX-License-Identifier: MIT
 * test_route.c - unit tests of routes between swarms (src/sched/route.c): the path along
 * a three-level tree in a hierarchical topology (up to the common ancestor, then down),
 * directly within a mesh swarm's subtree, from a client (the root down), between separate
 * trees, and the routes that isolated and delegation: down_only swarms forbid; consistent
 * hashing of keys to agents (about 1/N of the keys move when an agent is added). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/swarm.h"
#include "sched/route.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct fixture {
    struct sw_strmap swarms;
};

static void add_swarm(struct fixture *f, const char *name, const char *spec_json)
{
    json_error_t jerr;
    json_t *spec = json_loads(spec_json, 0, &jerr);
    assert_non_null(spec);
    struct sw_field_error err = {0};
    struct sw_swarm *s = NULL;
    assert_int_equal(sw_swarm_parse(name, spec, &s, &err), 0);
    json_decref(spec);
    struct sw_swarm *old = sw_strmap_get(&f->swarms, name);
    if (old) {
        sw_strmap_del(&f->swarms, name);
        sw_swarm_free(old);
    }
    assert_int_equal(sw_strmap_put(&f->swarms, s->name, s), 0);
}

/* root -> east -> e1, root -> west -> w1 (all hierarchical), and a separate root x. */
static int setup(void **state)
{
    struct fixture *f = sw_calloc(1, sizeof *f);
    sw_strmap_init(&f->swarms);
    add_swarm(f, "root", "{\"template\":\"t\"}");
    add_swarm(f, "east", "{\"template\":\"t\",\"parent\":\"root\"}");
    add_swarm(f, "west", "{\"template\":\"t\",\"parent\":\"root\"}");
    add_swarm(f, "e1", "{\"template\":\"t\",\"parent\":\"east\"}");
    add_swarm(f, "w1", "{\"template\":\"t\",\"parent\":\"west\"}");
    add_swarm(f, "x", "{\"template\":\"t\"}");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    size_t pos = 0;
    void *value;
    while (sw_strmap_next(&f->swarms, &pos, NULL, &value))
        sw_swarm_free(value);
    sw_strmap_free(&f->swarms);
    sw_free(f);
    return 0;
}

/* The route from -> to rendered as "a,b,c" (with its status). */
static int route(struct fixture *f, const char *from, const char *to, char *text, size_t size)
{
    struct sw_route r;
    int rc = sw_route_find(&f->swarms, from, to, &r);
    text[0] = '\0';
    for (size_t k = 0; k < r.n; k++) {
        size_t len = strlen(text);
        snprintf(text + len, size - len, "%s%s", k ? "," : "", r.hops[k]);
    }
    if (rc == SW_EROUTE_FORBIDDEN) {
        size_t len = strlen(text);
        snprintf(text + len, size - len, " forbidden by %s", r.blocker);
    }
    return rc;
}

static void assert_route(struct fixture *f, const char *from, const char *to, const char *want)
{
    char text[512];
    int rc = route(f, from, to, text, sizeof text);
    assert_true(rc == 0 || rc == SW_EROUTE_FORBIDDEN);
    assert_string_equal(text, want);
}

static void test_hierarchical(void **state)
{
    struct fixture *f = *state;
    assert_route(f, "e1", "e1", "e1");
    assert_route(f, "e1", "east", "e1,east"); /* an ancestor */
    assert_route(f, "e1", "root", "e1,east,root");
    assert_route(f, "root", "w1", "root,west,w1");       /* a descendant */
    assert_route(f, "e1", "w1", "e1,east,root,west,w1"); /* via the common ancestor */
    assert_route(f, "east", "w1", "east,root,west,w1");
    assert_route(f, "x", "e1", "x,root,east,e1"); /* separate trees: via the top */
    assert_route(f, NULL, "w1", "root,west,w1");  /* a client: from the root */
    assert_route(f, NULL, "x", "x");
    assert_route(f, "ghost", "e1", "ghost,root,east,e1"); /* named only by agents: a root */
    struct sw_route r;
    assert_int_equal(sw_route_find(&f->swarms, "e1", "w1", &r), 0);
    assert_int_equal(sw_route_hops(&r), 4);
    struct sw_buf out;
    sw_buf_init(&out, 1024);
    assert_int_equal(sw_route_render(&r, &out), 0);
    assert_int_equal(sw_buf_append(&out, "", 1), 0);
    assert_string_equal(out.data, "[\"e1\",\"east\",\"root\",\"west\",\"w1\"]");
    sw_buf_free(&out);
}

static void test_mesh(void **state)
{
    struct fixture *f = *state;
    add_swarm(f, "root", "{\"template\":\"t\",\"topology\":\"mesh\"}");
    assert_route(f, "e1", "w1", "e1,w1"); /* within root's subtree: directly */
    assert_route(f, "east", "w1", "east,w1");
    assert_route(f, "e1", "e1", "e1");
    assert_route(f, "x", "e1", "x,root,east,e1"); /* x is not in the mesh */
    /* a mesh region: only its own subtree is direct */
    add_swarm(f, "root", "{\"template\":\"t\"}");
    add_swarm(f, "east", "{\"template\":\"t\",\"parent\":\"root\",\"topology\":\"mesh\"}");
    add_swarm(f, "e2", "{\"template\":\"t\",\"parent\":\"east\"}");
    assert_route(f, "e1", "e2", "e1,e2");
    assert_route(f, "e1", "w1", "e1,east,root,west,w1");
}

static void test_forbidden(void **state)
{
    struct fixture *f = *state;
    char text[512];
    add_swarm(f, "east", "{\"template\":\"t\",\"parent\":\"root\",\"delegation\":\"down_only\"}");
    assert_int_equal(route(f, "e1", "w1", text, sizeof text), SW_EROUTE_FORBIDDEN);
    assert_string_equal(text, "e1,east,root,west,w1 forbidden by east");
    assert_route(f, "e1", "east", "e1,east"); /* into it is fine */
    assert_route(f, "root", "e1", "root,east,e1");
    assert_route(f, "east", "e1", "east,e1");
    assert_int_equal(route(f, "east", "root", text, sizeof text), SW_EROUTE_FORBIDDEN);
    /* down_only binds a hierarchical swarm only: in a mesh the task goes directly */
    add_swarm(f, "root", "{\"template\":\"t\",\"topology\":\"mesh\"}");
    assert_route(f, "e1", "w1", "e1,w1");
    add_swarm(f, "e1", "{\"template\":\"t\",\"parent\":\"east\",\"delegation\":\"down_only\"}");
    assert_route(f, "e1", "w1", "e1,w1 forbidden by e1");

    /* isolated: nothing enters or leaves */
    add_swarm(f, "root", "{\"template\":\"t\"}");
    add_swarm(f, "east", "{\"template\":\"t\",\"parent\":\"root\"}");
    add_swarm(f, "e1", "{\"template\":\"t\",\"parent\":\"east\"}");
    add_swarm(f, "west", "{\"template\":\"t\",\"parent\":\"root\",\"isolated\":true}");
    assert_route(f, "e1", "w1", "e1,east,root,west,w1 forbidden by west");
    assert_route(f, "w1", "west", "w1,west forbidden by west");
    assert_route(f, "west", "west", "west");
    assert_route(f, "e1", "root", "e1,east,root");
    assert_route(f, NULL, "w1", "root,west,w1"); /* a client names it: outside the tree */
}

static void test_spec_fields(void **state)
{
    (void)state;
    const char *bad[][2] = {
        {"{\"template\":\"t\",\"isolated\":\"yes\"}", "isolated"},
        {"{\"template\":\"t\",\"delegation\":\"up\"}", "delegation"},
        {"{\"template\":\"t\",\"delegation\":1}", "delegation"},
        {"{\"template\":\"t\",\"routing\":\"p2c\"}", "routing"},
        {"{\"template\":\"t\",\"routing\":{\"hash\":\"user\"}}", "routing.hash"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        json_t *spec = json_loads(bad[k][0], 0, NULL);
        struct sw_field_error err = {0};
        struct sw_swarm *s = NULL;
        assert_int_equal(sw_swarm_parse("s", spec, &s, &err), SW_EBAD_FIELD);
        assert_string_equal(err.field, bad[k][1]);
        json_decref(spec);
    }
}

/* The agent a key goes to among names[0..n). */
static size_t owner_of(const char *key, char names[][16], size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (sw_route_hash_score(key, names[i]) > sw_route_hash_score(key, names[best]))
            best = i;
    return best;
}

/* Consistent hashing: keys spread over the agents; adding an agent moves about 1/N of
 * them, all to the new agent; removing it moves them back and nothing else. */
static void test_consistent_hashing(void **state)
{
    (void)state;
    enum { KEYS = 20000, AGENTS = 10 };
    char names[AGENTS + 1][16], key[32];
    static size_t before[KEYS];
    size_t per_agent[AGENTS] = {0}, moved = 0;
    for (size_t i = 0; i <= AGENTS; i++)
        snprintf(names[i], sizeof names[i], "shard-%zu", i);
    for (size_t k = 0; k < KEYS; k++) {
        snprintf(key, sizeof key, "user-%zu", k);
        before[k] = owner_of(key, names, AGENTS);
        per_agent[before[k]]++;
    }
    for (size_t i = 0; i < AGENTS; i++) /* each near 1/10 */
        assert_true(per_agent[i] > KEYS / AGENTS * 8 / 10 &&
                    per_agent[i] < KEYS / AGENTS * 12 / 10);
    for (size_t k = 0; k < KEYS; k++) {
        snprintf(key, sizeof key, "user-%zu", k);
        size_t now = owner_of(key, names, AGENTS + 1);
        if (now != before[k]) {
            assert_int_equal(now, AGENTS); /* only to the new agent */
            moved++;
        }
    }
    /* about 1/11 of the keys: within 20% of it */
    assert_true(moved > KEYS / (AGENTS + 1) * 8 / 10 && moved < KEYS / (AGENTS + 1) * 12 / 10);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_hierarchical),
        T(test_mesh),
        T(test_forbidden),
        cmocka_unit_test(test_spec_fields),
        cmocka_unit_test(test_consistent_hashing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
