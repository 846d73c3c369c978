/* SPDX-License-Identifier: MIT
 * test_map.c - unit tests of the hash maps (src/core/map.c): sw_map keyed by
 * uint64_t and sw_strmap keyed by a borrowed string. Put, replace, get, delete and
 * iterate; growth to 100,000 entries checked against a plain array; deletes that
 * leave tombstones which later inserts reuse without the table growing; lookups
 * that must walk past tombstones; and allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/map.h"

#include <stdio.h>
#include <string.h>

#define BIG 100000

/* Distinct non-NULL values: addresses inside this array. */
static char values[BIG + 1];

#define VAL(i) ((void *)&values[(i)])

static void test_map_empty(void **state)
{
    struct sw_map m;
    size_t pos = 0;

    sw_map_init(&m);
    assert_null(sw_map_get(&m, 0));
    assert_null(sw_map_get(&m, 42));
    assert_null(sw_map_del(&m, 42));
    assert_int_equal(sw_map_next(&m, &pos, NULL, NULL), 0);
    sw_map_free(&m);
}

static void test_map_put_get_del(void **state)
{
    struct sw_map m;

    sw_map_init(&m);
    assert_int_equal(sw_map_put(&m, 0, VAL(0)), 0); /* key 0 is an ordinary key */
    assert_int_equal(sw_map_put(&m, 7, VAL(7)), 0);
    assert_int_equal(sw_map_put(&m, UINT64_MAX, VAL(9)), 0);
    assert_int_equal(m.count, 3);
    assert_ptr_equal(sw_map_get(&m, 0), VAL(0));
    assert_ptr_equal(sw_map_get(&m, 7), VAL(7));
    assert_ptr_equal(sw_map_get(&m, UINT64_MAX), VAL(9));
    assert_null(sw_map_get(&m, 8));

    assert_int_equal(sw_map_put(&m, 7, VAL(70)), 0); /* replace */
    assert_int_equal(m.count, 3);
    assert_ptr_equal(sw_map_get(&m, 7), VAL(70));

    assert_ptr_equal(sw_map_del(&m, 7), VAL(70));
    assert_null(sw_map_get(&m, 7));
    assert_null(sw_map_del(&m, 7));
    assert_int_equal(m.count, 2);
    assert_int_equal(sw_map_put(&m, 7, VAL(71)), 0);
    assert_ptr_equal(sw_map_get(&m, 7), VAL(71));
    sw_map_free(&m);
    assert_int_equal(m.count, 0);
}

static void test_map_iterate(void **state)
{
    struct sw_map m;
    int seen[100] = {0};
    size_t pos = 0;
    uint64_t key;
    void *value;
    int n = 0;

    sw_map_init(&m);
    for (int i = 0; i < 100; i++)
        assert_int_equal(sw_map_put(&m, (uint64_t)i * 1000003, VAL(i)), 0);
    for (int i = 0; i < 100; i += 3)
        assert_non_null(sw_map_del(&m, (uint64_t)i * 1000003));
    while (sw_map_next(&m, &pos, &key, &value)) {
        int i = (int)((char *)value - values);
        assert_true(key == (uint64_t)i * 1000003);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        n++;
    }
    assert_int_equal(n, 100 - 34);
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], i % 3 != 0);
    /* NULL out-parameters are allowed */
    pos = 0;
    n = 0;
    while (sw_map_next(&m, &pos, NULL, NULL))
        n++;
    assert_int_equal(n, 66);
    sw_map_free(&m);
}

/* A deterministic key sequence with clustered and spread bits. */
static uint64_t key_of(int i)
{
    return i % 2 ? (uint64_t)i : (uint64_t)i * 0x9E3779B97F4A7C15ULL;
}

static void test_map_growth_100k(void **state)
{
    struct sw_map m;

    sw_map_init(&m);
    for (int i = 0; i < BIG; i++) {
        assert_int_equal(sw_map_put(&m, key_of(i), VAL(i)), 0);
        assert_true(m.used * 10 <= m.cap * 7);
    }
    assert_int_equal(m.count, BIG);
    for (int i = 0; i < BIG; i++)
        if (sw_map_get(&m, key_of(i)) != VAL(i))
            fail_msg("key %d lost after growth", i);
    assert_null(sw_map_get(&m, key_of(BIG)));
    /* delete the even half, check the rest */
    for (int i = 0; i < BIG; i += 2)
        assert_ptr_equal(sw_map_del(&m, key_of(i)), VAL(i));
    assert_int_equal(m.count, BIG / 2);
    for (int i = 0; i < BIG; i++) {
        void *want = i % 2 ? VAL(i) : NULL;
        if (sw_map_get(&m, key_of(i)) != want)
            fail_msg("key %d wrong after deletes", i);
    }
    size_t pos = 0;
    int n = 0;
    while (sw_map_next(&m, &pos, NULL, NULL))
        n++;
    assert_int_equal(n, BIG / 2);
    sw_map_free(&m);
}

static void test_map_tombstone_reuse(void **state)
{
    struct sw_map m;

    sw_map_init(&m);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sw_map_put(&m, (uint64_t)i, VAL(i)), 0);
    size_t cap = m.cap;
    /* churn: far more inserts than the table size, never more than 5 live */
    for (int round = 0; round < 10000; round++) {
        uint64_t old = (uint64_t)round, fresh = (uint64_t)round + 5;
        assert_ptr_equal(sw_map_del(&m, old), VAL(old));
        assert_int_equal(sw_map_put(&m, fresh, VAL(fresh)), 0);
        assert_int_equal(m.count, 5);
        assert_true(m.used * 10 <= m.cap * 7);
    }
    assert_int_equal(m.cap, cap); /* tombstones were cleaned, not grown over */
    for (uint64_t k = 10000; k < 10005; k++)
        assert_ptr_equal(sw_map_get(&m, k), VAL(k));
    for (uint64_t k = 0; k < 10000; k++)
        assert_null(sw_map_get(&m, k));
    sw_map_free(&m);
}

static void test_map_reuse_same_key(void **state)
{
    struct sw_map m;

    sw_map_init(&m);
    assert_int_equal(sw_map_put(&m, 5, VAL(5)), 0);
    size_t used = m.used;
    for (int i = 0; i < 1000; i++) {
        assert_non_null(sw_map_del(&m, 5));
        assert_int_equal(sw_map_put(&m, 5, VAL(i)), 0);
    }
    /* the tombstone of key 5 is taken again: no slot is used up */
    assert_int_equal(m.used, used);
    assert_int_equal(m.count, 1);
    assert_ptr_equal(sw_map_get(&m, 5), VAL(999));
    sw_map_free(&m);
}

static void test_map_lookup_past_tombstone(void **state)
{
    struct sw_map m;

    sw_map_init(&m);
    /* many keys in a small table make probe chains; delete every other key and
     * check that the ones behind the holes are still found and not duplicated */
    for (int i = 0; i < 11; i++)
        assert_int_equal(sw_map_put(&m, (uint64_t)i, VAL(i)), 0);
    for (int i = 0; i < 11; i += 2)
        sw_map_del(&m, (uint64_t)i);
    for (int i = 1; i < 11; i += 2) {
        assert_ptr_equal(sw_map_get(&m, (uint64_t)i), VAL(i));
        assert_int_equal(sw_map_put(&m, (uint64_t)i, VAL(i + 100)), 0);
    }
    assert_int_equal(m.count, 5);
    size_t pos = 0;
    int n = 0;
    while (sw_map_next(&m, &pos, NULL, NULL))
        n++;
    assert_int_equal(n, 5);
    sw_map_free(&m);
}

static void test_map_out_of_memory(void **state)
{
    struct sw_map m;

    sw_map_init(&m);
    sw_alloc_fail_after(1);
    assert_int_equal(sw_map_put(&m, 1, VAL(1)), SW_ENOMEM);
    sw_alloc_fail_after(0);
    assert_null(sw_map_get(&m, 1));
    assert_int_equal(m.count, 0);
    for (int i = 0; i < 11; i++)
        assert_int_equal(sw_map_put(&m, (uint64_t)i, VAL(i)), 0);
    /* the 12th entry needs a bigger table */
    sw_alloc_fail_after(1);
    assert_int_equal(sw_map_put(&m, 100, VAL(100)), SW_ENOMEM);
    sw_alloc_fail_after(0);
    assert_int_equal(m.count, 11);
    for (int i = 0; i < 11; i++)
        assert_ptr_equal(sw_map_get(&m, (uint64_t)i), VAL(i));
    sw_map_free(&m);
}

/* ---- string maps ---- */

static void test_strmap_basics(void **state)
{
    struct sw_strmap m;
    char key_copy[] = "alpha";
    size_t pos = 0;

    sw_strmap_init(&m);
    assert_null(sw_strmap_get(&m, "alpha"));
    assert_null(sw_strmap_del(&m, "alpha"));
    assert_int_equal(sw_strmap_next(&m, &pos, NULL, NULL), 0);
    assert_int_equal(sw_strmap_put(&m, "alpha", VAL(1)), 0);
    assert_int_equal(sw_strmap_put(&m, "beta", VAL(2)), 0);
    assert_int_equal(sw_strmap_put(&m, "", VAL(3)), 0);    /* the empty string is a key */
    assert_ptr_equal(sw_strmap_get(&m, key_copy), VAL(1)); /* compared by content */
    assert_ptr_equal(sw_strmap_get(&m, "beta"), VAL(2));
    assert_ptr_equal(sw_strmap_get(&m, ""), VAL(3));
    assert_null(sw_strmap_get(&m, "alph"));
    assert_null(sw_strmap_get(&m, "alphab"));

    /* replacing also replaces the borrowed key pointer */
    assert_int_equal(sw_strmap_put(&m, key_copy, VAL(4)), 0);
    assert_int_equal(m.count, 3);
    const char *key;
    void *value;
    int found = 0;
    pos = 0;
    while (sw_strmap_next(&m, &pos, &key, &value))
        if (value == VAL(4)) {
            assert_ptr_equal(key, key_copy);
            found = 1;
        }
    assert_true(found);

    assert_ptr_equal(sw_strmap_del(&m, "alpha"), VAL(4));
    assert_null(sw_strmap_get(&m, "alpha"));
    assert_int_equal(m.count, 2);
    sw_strmap_free(&m);
}

static void test_strmap_growth_100k(void **state)
{
    static char keys[BIG][12];
    struct sw_strmap m;

    sw_strmap_init(&m);
    for (int i = 0; i < BIG; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_int_equal(sw_strmap_put(&m, keys[i], VAL(i)), 0);
    }
    assert_int_equal(m.count, BIG);
    for (int i = 0; i < BIG; i++) {
        char probe[12];
        snprintf(probe, sizeof probe, "k%d", i);
        if (sw_strmap_get(&m, probe) != VAL(i))
            fail_msg("key %s lost after growth", probe);
    }
    for (int i = 0; i < BIG; i += 3)
        assert_ptr_equal(sw_strmap_del(&m, keys[i]), VAL(i));
    for (int i = 0; i < BIG; i++) {
        void *want = i % 3 ? VAL(i) : NULL;
        if (sw_strmap_get(&m, keys[i]) != want)
            fail_msg("key %s wrong after deletes", keys[i]);
    }
    size_t pos = 0;
    int n = 0;
    const char *key;
    void *value;
    while (sw_strmap_next(&m, &pos, &key, &value)) {
        assert_ptr_equal(sw_strmap_get(&m, key), value);
        n++;
    }
    assert_int_equal(n, BIG - (BIG + 2) / 3);
    sw_strmap_free(&m);
}

static void test_strmap_tombstone_reuse(void **state)
{
    static char keys[20000][12];
    struct sw_strmap m;

    sw_strmap_init(&m);
    for (int i = 0; i < 20000; i++)
        snprintf(keys[i], sizeof keys[i], "key-%d", i);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sw_strmap_put(&m, keys[i], VAL(i)), 0);
    size_t cap = m.cap;
    for (int i = 5; i < 20000; i++) {
        assert_ptr_equal(sw_strmap_del(&m, keys[i - 5]), VAL(i - 5));
        assert_int_equal(sw_strmap_put(&m, keys[i], VAL(i)), 0);
        assert_int_equal(m.count, 5);
        assert_true(m.used * 10 <= m.cap * 7);
    }
    assert_int_equal(m.cap, cap); /* tombstones were cleaned, not grown over */
    for (int i = 0; i < 20000; i++)
        assert_ptr_equal(sw_strmap_get(&m, keys[i]), i >= 19995 ? VAL(i) : NULL);
    sw_strmap_free(&m);
}

static void test_hash_bytes(void **state)
{
    assert_true(sw_hash_bytes("abc", 3) == sw_hash_bytes("abc", 3));
    assert_true(sw_hash_bytes("abc", 3) != sw_hash_bytes("abd", 3));
    assert_true(sw_hash_bytes("abc", 3) != sw_hash_bytes("abc", 2));
    assert_true(sw_hash_bytes("", 0) != sw_hash_bytes("\0", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_empty),
        cmocka_unit_test(test_map_put_get_del),
        cmocka_unit_test(test_map_iterate),
        cmocka_unit_test(test_map_growth_100k),
        cmocka_unit_test(test_map_tombstone_reuse),
        cmocka_unit_test(test_map_reuse_same_key),
        cmocka_unit_test(test_map_lookup_past_tombstone),
        cmocka_unit_test(test_map_out_of_memory),
        cmocka_unit_test(test_strmap_basics),
        cmocka_unit_test(test_strmap_growth_100k),
        cmocka_unit_test(test_strmap_tombstone_reuse),
        cmocka_unit_test(test_hash_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
