/* SPDX-License-Identifier: MIT
 * test_duration.c - unit tests of duration and size parsing (src/core/duration.c):
 * every unit, terms that follow each other ("1m30s"), a bare number as
 * milliseconds, the inputs that must be refused (empty, garbage, negative,
 * fractional, unknown unit, overflow), byte sizes with their 1024-based suffixes,
 * and the shortest exact form printed by sw_duration_format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/duration.h"
#include "core/error.h"

#include <string.h>

/* Parses s and returns the value; fails the test on an error. */
static int64_t duration_ok(const char *s)
{
    int64_t ms = -12345;
    int rc = sw_duration_parse(s, &ms);
    if (rc)
        fail_msg("sw_duration_parse(\"%s\") = %d", s, rc);
    return ms;
}

static void test_duration_units(void **state)
{
    assert_int_equal(duration_ok("500ms"), 500);
    assert_int_equal(duration_ok("30s"), 30000);
    assert_int_equal(duration_ok("5m"), 300000);
    assert_int_equal(duration_ok("1h"), 3600000);
    assert_int_equal(duration_ok("7d"), 7LL * 86400000);
    assert_int_equal(duration_ok("0s"), 0);
    assert_int_equal(duration_ok("0"), 0);
}

static void test_duration_bare_number_is_ms(void **state)
{
    assert_int_equal(duration_ok("250"), 250);
    assert_int_equal(duration_ok("1"), 1);
    assert_int_equal(duration_ok("86400000"), 86400000);
}

static void test_duration_compound(void **state)
{
    assert_int_equal(duration_ok("1m30s"), 90000);
    assert_int_equal(duration_ok("1h1m1s1ms"), 3661001);
    assert_int_equal(duration_ok("1d12h"), 36LL * 3600000);
    assert_int_equal(duration_ok("2s500ms"), 2500);
}

static void test_duration_errors(void **state)
{
    static const char *const bad[] = {
        "",
        "abc",
        "5x",
        "-1s",
        "1.5s",
        "s",
        "ms5",
        " 5s",
        "5 s",
        "5s ",
        "5S",
        "1m30x",
        "+5s",
        "5sec",
        "0x10",
        "99999999999999999999",
        "99999999999999999999ms",
        "9223372036854775807d",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 777;
        int rc = sw_duration_parse(bad[i], &ms);
        if (rc != SW_EINVAL)
            fail_msg("sw_duration_parse(\"%s\") = %d, want SW_EINVAL", bad[i], rc);
        assert_int_equal(ms, 777); /* untouched on error */
    }
    int64_t ms = 777;
    assert_int_equal(sw_duration_parse(NULL, &ms), SW_EINVAL);
}

static void test_duration_overflow_of_sum(void **state)
{
    int64_t ms;
    /* each term fits, the sum does not */
    assert_int_equal(sw_duration_parse("100000000000000d100000000000000d", &ms), SW_EINVAL);
    /* the largest number of days that fits */
    assert_int_equal(sw_duration_parse("106751991167d", &ms), 0);
    assert_int_equal(ms, 106751991167LL * 86400000);
    assert_int_equal(sw_duration_parse("106751991168d", &ms), SW_EINVAL);
}

static int64_t size_ok(const char *s)
{
    int64_t bytes = -1;
    int rc = sw_size_parse(s, &bytes);
    if (rc)
        fail_msg("sw_size_parse(\"%s\") = %d", s, rc);
    return bytes;
}

static void test_size_parse(void **state)
{
    assert_int_equal(size_ok("64"), 64);
    assert_int_equal(size_ok("0"), 0);
    assert_int_equal(size_ok("512k"), 512 * 1024);
    assert_int_equal(size_ok("512K"), 512 * 1024);
    assert_int_equal(size_ok("4KiB"), 4096);
    assert_int_equal(size_ok("4KB"), 4096);
    assert_int_equal(size_ok("1MiB"), 1 << 20);
    assert_int_equal(size_ok("1m"), 1 << 20);
    assert_int_equal(size_ok("1M"), 1 << 20);
    assert_int_equal(size_ok("1MB"), 1 << 20);
    assert_int_equal(size_ok("1GB"), 1 << 30);
    assert_int_equal(size_ok("2GiB"), 2LL << 30);
    assert_int_equal(size_ok("3g"), 3LL << 30);
}

static void test_size_errors(void **state)
{
    static const char *const bad[] = {
        "",
        "k",
        "1.5M",
        "-1",
        "1 MiB",
        "1mib",
        "1T",
        "1KiBx",
        "99999999999999999999",
        "9999999999999G",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t bytes = 5;
        int rc = sw_size_parse(bad[i], &bytes);
        if (rc != SW_EINVAL)
            fail_msg("sw_size_parse(\"%s\") = %d, want SW_EINVAL", bad[i], rc);
        assert_int_equal(bytes, 5);
    }
    int64_t bytes;
    assert_int_equal(sw_size_parse(NULL, &bytes), SW_EINVAL);
}

static void assert_format(int64_t ms, const char *want)
{
    char out[32];
    sw_duration_format(ms, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_duration_format(void **state)
{
    assert_format(0, "0ms");
    assert_format(1, "1ms");
    assert_format(1500, "1500ms");
    assert_format(30000, "30s");
    assert_format(90000, "90s");
    assert_format(300000, "5m");
    assert_format(3600000, "1h");
    assert_format(5400000, "90m");
    assert_format(86400000, "1d");
    assert_format(7LL * 86400000, "7d");
    assert_format(86400001, "86400001ms");
}

static void test_format_parse_round_trip(void **state)
{
    static const int64_t values[] = {0,        1,        999,      1000,      1001,
                                     59999,    60000,    61000,    3599999,   3600000,
                                     86399999, 86400000, 90061001, 604800000, 123456789012};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char out[32];
        sw_duration_format(values[i], out, sizeof out);
        assert_int_equal(duration_ok(out), values[i]);
    }
}

static void test_format_truncates_safely(void **state)
{
    char out[4];
    memset(out, 'x', sizeof out);
    sw_duration_format(123456, out, sizeof out);
    assert_int_equal(strlen(out), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_units),
        cmocka_unit_test(test_duration_bare_number_is_ms),
        cmocka_unit_test(test_duration_compound),
        cmocka_unit_test(test_duration_errors),
        cmocka_unit_test(test_duration_overflow_of_sum),
        cmocka_unit_test(test_size_parse),
        cmocka_unit_test(test_size_errors),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_format_truncates_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
