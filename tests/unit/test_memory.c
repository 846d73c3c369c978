/* SPDX-License-Identifier: MIT
 * test_memory.c - unit tests of the shared memory's table (src/model/memory.c) and of
 * events and their filters (src/model/event.c): namespace and key rules; versions on
 * put, remove and re-create; the write conditions; limits; the expiry heap against a
 * random series of puts and removes; sorted listing with prefixes and cursors; the
 * CloudEvent text and where its data lies; filter patterns and unknown fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/event.h"
#include "model/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put(struct sw_memory *m, const struct sw_mem_limits *lim, const char *ns,
               const char *key, const char *value, int64_t expire_at, uint64_t rev)
{
    struct sw_mem_entry *e;
    char *v = sw_strdup(value);
    int rc = sw_memory_put(m, lim, ns, key, v, strlen(v), NULL, expire_at, rev, 1000, &e);
    if (rc)
        sw_free(v);
    return rc;
}

static void test_names(void **state)
{
    assert_true(sw_mem_ns_valid("global"));
    assert_true(sw_mem_ns_valid("swarm:web-1"));
    assert_true(sw_mem_ns_valid("agent:a_0123.x_y"));
    assert_false(sw_mem_ns_valid(""));
    assert_false(sw_mem_ns_valid("Global"));
    assert_false(sw_mem_ns_valid(":x"));
    assert_false(sw_mem_ns_valid("a/b"));
    char long_ns[200];
    memset(long_ns, 'a', sizeof long_ns);
    long_ns[128] = '\0';
    assert_true(sw_mem_ns_valid(long_ns));
    long_ns[128] = 'a';
    long_ns[129] = '\0';
    assert_false(sw_mem_ns_valid(long_ns));
    assert_true(sw_mem_key_valid("a/b/c", 64));
    assert_true(sw_mem_key_valid("ü %*", 64));
    assert_false(sw_mem_key_valid("", 64));
    assert_false(sw_mem_key_valid("/a", 64));
    assert_false(sw_mem_key_valid("a/", 64));
    assert_false(sw_mem_key_valid("a//b", 64));
    assert_false(sw_mem_key_valid("a\nb", 64));
    assert_false(sw_mem_key_valid("abcdef", 5));
}

static void test_versions_and_conditions(void **state)
{
    struct sw_memory m;
    sw_memory_init(&m);
    assert_int_equal(sw_memory_check(&m, "g", "k", SW_MEM_ABSENT, 0), 0);
    assert_int_equal(sw_memory_check(&m, "g", "k", SW_MEM_VERSION, 0), 0);
    assert_int_equal(sw_memory_check(&m, "g", "k", SW_MEM_VERSION, 1), SW_ECONFLICT);
    assert_int_equal(put(&m, NULL, "g", "k", "1", 0, 10), 0);
    struct sw_mem_entry *e = sw_memory_get(&m, "g", "k");
    assert_non_null(e);
    assert_int_equal(e->version, 1);
    assert_int_equal(e->revision, 10);
    assert_int_equal(put(&m, NULL, "g", "k", "2", 0, 11), 0);
    assert_int_equal(e->version, 2);
    assert_string_equal(e->value, "2");
    assert_int_equal(sw_memory_check(&m, "g", "k", SW_MEM_ABSENT, 0), SW_ECONFLICT);
    assert_int_equal(sw_memory_check(&m, "g", "k", SW_MEM_VERSION, 2), 0);
    assert_int_equal(sw_memory_check(&m, "g", "k", SW_MEM_VERSION, 1), SW_ECONFLICT);
    assert_int_equal(sw_memory_check(&m, "g", "k", SW_MEM_ANY, 0), 0);
    assert_int_equal(m.keys, 1);
    assert_int_equal(m.bytes, 1);
    e = sw_memory_remove(&m, "g", "k");
    assert_non_null(e);
    sw_mem_entry_free(e);
    assert_null(sw_memory_remove(&m, "g", "k"));
    assert_int_equal(m.keys, 0);
    assert_int_equal(m.bytes, 0);
    assert_int_equal(put(&m, NULL, "g", "k", "3", 0, 12), 0);
    assert_int_equal(sw_memory_get(&m, "g", "k")->version, 1); /* re-created */
    sw_memory_free(&m);
}

static void test_limits(void **state)
{
    struct sw_memory m;
    struct sw_mem_limits lim = {16, 4, 2};
    sw_memory_init(&m);
    assert_int_equal(put(&m, &lim, "g", "a", "1234", 0, 1), 0);
    assert_int_equal(put(&m, &lim, "g", "b", "12345", 0, 2), SW_ETOO_LARGE);
    assert_int_equal(put(&m, &lim, "g", "b", "1", 0, 3), 0);
    assert_int_equal(put(&m, &lim, "g", "c", "1", 0, 4), SW_ELIMIT);
    assert_int_equal(put(&m, &lim, "other", "c", "1", 0, 5), 0);
    assert_int_equal(put(&m, &lim, "g", "a", "9", 0, 6), 0); /* an update is no new key */
    assert_int_equal(sw_memory_ns_count(&m, "g"), 2);
    sw_memory_free(&m);
}

static void test_expiry_heap(void **state)
{
    struct sw_memory m;
    sw_memory_init(&m);
    srand(7);
    int64_t expiry[200] = {0};
    char key[16];
    for (int step = 0; step < 5000; step++) {
        int k = rand() % 200;
        snprintf(key, sizeof key, "k%d", k);
        if (rand() % 4 == 0) {
            sw_mem_entry_free(sw_memory_remove(&m, "g", key));
            expiry[k] = 0;
        } else {
            int64_t at = rand() % 3 ? 1 + rand() % 100000 : 0;
            assert_int_equal(put(&m, NULL, "g", key, "1", at, (uint64_t)step + 1), 0);
            expiry[k] = at;
        }
        int64_t min = 0;
        for (int i = 0; i < 200; i++)
            if (expiry[i] && (min == 0 || expiry[i] < min))
                min = expiry[i];
        assert_int_equal(sw_memory_next_expiry(&m), min);
    }
    /* drain in time order */
    int64_t last = 0;
    struct sw_mem_entry *e;
    while ((e = sw_memory_expired(&m, INT64_MAX))) {
        assert_true(e->expire_at >= last);
        last = e->expire_at;
        sw_mem_entry_free(sw_memory_remove(&m, e->ns, e->key));
    }
    assert_int_equal(sw_memory_next_expiry(&m), 0);
    assert_null(sw_memory_expired(&m, 5));
    sw_memory_free(&m);
}

static void test_list(void **state)
{
    struct sw_memory m;
    sw_memory_init(&m);
    const char *keys[] = {"b/2", "a", "b/1", "b/10", "c", "b", "b/3/x"};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(put(&m, NULL, "g", keys[i], "1", 0, i + 1), 0);
    struct sw_mem_entry *out[10];
    int more;
    size_t n = sw_memory_list(&m, "g", NULL, NULL, 10, out, &more);
    assert_int_equal(n, 7);
    assert_false(more);
    const char *sorted[] = {"a", "b", "b/1", "b/10", "b/2", "b/3/x", "c"};
    for (size_t i = 0; i < n; i++)
        assert_string_equal(out[i]->key, sorted[i]);
    n = sw_memory_list(&m, "g", "b/", NULL, 2, out, &more);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_string_equal(out[0]->key, "b/1");
    assert_string_equal(out[1]->key, "b/10");
    n = sw_memory_list(&m, "g", "b/", "b/10", 2, out, &more);
    assert_int_equal(n, 2);
    assert_false(more);
    assert_string_equal(out[0]->key, "b/2");
    assert_string_equal(out[1]->key, "b/3/x");
    n = sw_memory_list(&m, "g", "b/", "a", 10, out, &more); /* cursor before the prefix */
    assert_int_equal(n, 4);
    n = sw_memory_list(&m, "g", NULL, "c", 10, out, &more);
    assert_int_equal(n, 0);
    assert_int_equal(sw_memory_list(&m, "none", NULL, NULL, 10, out, &more), 0);
    /* a key added after a listing shows in the next one */
    assert_int_equal(put(&m, NULL, "g", "b/0", "1", 0, 99), 0);
    n = sw_memory_list(&m, "g", "b/", NULL, 1, out, &more);
    assert_string_equal(out[0]->key, "b/0");
    sw_memory_free(&m);
}

static void test_event_render(void **state)
{
    const char *data = "{\"a\":\"x,\\\"data\\\":1\"}";
    struct sw_event *ev = sw_event_new(42, 1795458382170, "demo.t", "/s\"rc", "sub",
                                       "00-abc-def-01", data, strlen(data));
    assert_non_null(ev);
    assert_string_equal(ev->json + ev->data_off, "{\"a\":\"x,\\\"data\\\":1\"}}");
    assert_int_equal(ev->len - 1 - ev->data_off, strlen(data));
    assert_non_null(strstr(ev->json, "\"id\":\"42\""));
    assert_non_null(strstr(ev->json, "\"time\":\"2026-11-23T18:26:22.170Z\""));
    assert_non_null(strstr(ev->json, "\"source\":\"/s\\\"rc\""));
    /* loading the stored text finds the same data */
    struct sw_event *back =
        sw_event_load(42, ev->time_ms, ev->type, ev->source, ev->subject, ev->json, ev->len);
    assert_int_equal(back->data_off, ev->data_off);
    sw_event_free(back);
    sw_event_free(ev);
    ev = sw_event_new(1, 0, "t", "/s", NULL, NULL, NULL, 0);
    assert_string_equal(ev->json + ev->data_off, "null}");
    assert_null(strstr(ev->json, "subject"));
    sw_event_free(ev);
}

static void test_filters(void **state)
{
    struct sw_event_filter f = {0};
    struct sw_event ev = {
        .type = "swarmd.task.succeeded", .source = "/swarms/web", .subject = "t_1"};
    assert_true(sw_event_filter_match(&f, &ev));
    assert_int_equal(sw_event_filter_set(&f, "type", "swarmd.task.*"), 0);
    assert_true(sw_event_filter_match(&f, &ev));
    assert_int_equal(sw_event_filter_set(&f, "source", "/swarms/api"), 0);
    assert_false(sw_event_filter_match(&f, &ev));
    assert_int_equal(sw_event_filter_set(&f, "source", ""), 0);
    assert_int_equal(sw_event_filter_set(&f, "subject", "t_1"), 0);
    assert_true(sw_event_filter_match(&f, &ev));
    ev.subject = NULL;
    assert_false(sw_event_filter_match(&f, &ev));
    assert_int_equal(sw_event_filter_set(&f, "colour", "x"), SW_EUNKNOWN_FIELD);
    assert_int_equal(sw_event_filter_set(&f, "type", "a*b"), SW_EBAD_FIELD);
    assert_true(sw_event_pattern_match("*", "anything"));
    assert_true(sw_event_pattern_match("abc", "abc"));
    assert_false(sw_event_pattern_match("abc", "abcd"));
    sw_event_filter_free(&f);
    json_error_t jerr;
    json_t *obj = json_loads("{\"type\":\"a.*\",\"colour\":\"red\"}", 0, &jerr);
    const char *bad;
    assert_int_equal(sw_event_filter_from_json(&f, obj, &bad), SW_EUNKNOWN_FIELD);
    assert_string_equal(bad, "colour");
    sw_event_filter_free(&f);
    json_decref(obj);
    assert_true(sw_event_field_valid("a.b/c"));
    assert_false(sw_event_field_valid("a b"));
    assert_false(sw_event_field_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),   cmocka_unit_test(test_versions_and_conditions),
        cmocka_unit_test(test_limits),  cmocka_unit_test(test_expiry_heap),
        cmocka_unit_test(test_list),    cmocka_unit_test(test_event_render),
        cmocka_unit_test(test_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
