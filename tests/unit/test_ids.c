/* SPDX-License-Identifier: MIT
 * test_ids.c - unit tests of entity ids (src/core/ids.c): the "p_<16 hex>" text
 * form and its parse back, refusal of a wrong prefix, length or digit, and the
 * generator sw_id_next, which must stay strictly increasing even when the wall
 * clock steps backwards or stands still. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "core/ids.h"

#include <string.h>

static void test_format(void **state)
{
    char text[SW_ID_STRLEN];

    sw_id_format('t', 0x0193a4b2c8d90001ULL, text);
    assert_string_equal(text, "t_0193a4b2c8d90001");
    sw_id_format('a', 0, text);
    assert_string_equal(text, "a_0000000000000000");
    sw_id_format('t', UINT64_MAX, text);
    assert_string_equal(text, "t_ffffffffffffffff");
    assert_int_equal(strlen(text), SW_ID_STRLEN - 1);
}

/* Formats id, parses the text back and checks both agree. */
static void assert_round_trip(char prefix, uint64_t id)
{
    char text[SW_ID_STRLEN];
    uint64_t back = ~id;

    sw_id_format(prefix, id, text);
    assert_int_equal(sw_id_parse(prefix, text, &back), 0);
    assert_true(back == id);
}

static void test_round_trip(void **state)
{
    static const uint64_t values[] = {
        0,
        1,
        0xf,
        0x10,
        0x0123456789abcdefULL,
        0xfedcba9876543210ULL,
        (uint64_t)1700000000000 << 16,
        UINT64_MAX,
    };
    uint64_t x = 0x9E3779B97F4A7C15ULL;

    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        assert_round_trip('t', values[i]);
    for (int i = 0; i < 1000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        assert_round_trip(i % 2 ? 'a' : 't', x);
    }
}

static void test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "a_0193a4b2c8d90001",  /* other prefix */
        "T_0193a4b2c8d90001",  /* prefix is case-sensitive */
        "t-0193a4b2c8d90001",  /* separator */
        "t0193a4b2c8d900011",  /* no separator, right length */
        "t_0193a4b2c8d9000",   /* 15 digits */
        "t_0193a4b2c8d900012", /* 17 digits */
        "t_",                  /* no digits */
        "",                    /* empty */
        "t",                   /* prefix only */
        "t_0193a4b2c8d9000g",  /* not hex */
        "t_0193A4B2C8D90001",  /* upper case is not the canonical form */
        "t_0193a4b2 8d90001",  /* space */
        "t_-193a4b2c8d90001",  /* sign */
        "t_0193a4b2c8d90001 ", /* trailing space */
        " t_0193a4b2c8d90001", /* leading space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t id = 42;
        int rc = sw_id_parse('t', bad[i], &id);
        if (rc != SW_EINVAL)
            fail_msg("sw_id_parse('t', \"%s\") = %d, want SW_EINVAL", bad[i], rc);
        assert_int_equal(id, 42);
    }
    uint64_t id = 42;
    assert_int_equal(sw_id_parse('t', NULL, &id), SW_EINVAL);
}

static void test_parse_embedded_nul(void **state)
{
    /* strlen stops at the NUL: "t_0193" is too short whatever follows in memory */
    const char text[] = "t_0193\0a4b2c8d90001";
    uint64_t id = 42;

    assert_int_equal(sw_id_parse('t', text, &id), SW_EINVAL);
    assert_int_equal(id, 42);
}

static void test_next_follows_wall_clock(void **state)
{
    uint64_t last = 0;
    uint64_t a = sw_id_next(&last, 1000);

    assert_true(a == (uint64_t)1000 << 16);
    assert_true(last == a);
    uint64_t b = sw_id_next(&last, 2000);
    assert_true(b == (uint64_t)2000 << 16);
}

static void test_next_monotonic_when_clock_stalls_or_goes_back(void **state)
{
    uint64_t last = 0, prev = 0;
    int64_t walls[] = {5000, 5000, 5000, 4000, 1, 0, 5000, 5001, 3000, 6000, 6000};

    for (size_t i = 0; i < sizeof walls / sizeof walls[0]; i++) {
        uint64_t id = sw_id_next(&last, walls[i]);
        assert_true(id > prev);
        assert_true(id == last);
        prev = id;
    }
    /* after the clock catches up, ids follow it again */
    assert_true(sw_id_next(&last, 100000) == (uint64_t)100000 << 16);
}

static void test_next_many_in_one_ms(void **state)
{
    uint64_t last = 0;
    uint64_t first = sw_id_next(&last, 7);

    for (int i = 1; i < 100000; i++)
        assert_true(sw_id_next(&last, 7) == first + (uint64_t)i);
}

static void test_next_restored_last(void **state)
{
    /* a restart restores last from the store: ids keep growing past it */
    uint64_t last = ((uint64_t)9000 << 16) + 77;

    assert_true(sw_id_next(&last, 8000) == ((uint64_t)9000 << 16) + 78);
    assert_true(sw_id_next(&last, 9001) == (uint64_t)9001 << 16);
}

static void test_ids_sort_by_creation_as_text(void **state)
{
    uint64_t last = 0;
    char a[SW_ID_STRLEN], b[SW_ID_STRLEN];

    sw_id_format('t', sw_id_next(&last, 1700000000000), a);
    sw_id_format('t', sw_id_next(&last, 1700000000000), b);
    assert_true(strcmp(a, b) < 0);
    sw_id_format('t', sw_id_next(&last, 1800000000000), a);
    assert_true(strcmp(b, a) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_embedded_nul),
        cmocka_unit_test(test_next_follows_wall_clock),
        cmocka_unit_test(test_next_monotonic_when_clock_stalls_or_goes_back),
        cmocka_unit_test(test_next_many_in_one_ms),
        cmocka_unit_test(test_next_restored_last),
        cmocka_unit_test(test_ids_sort_by_creation_as_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
