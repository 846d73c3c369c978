/* SPDX-License-Identifier: MIT
 * test_buf.c - unit tests of the bounded byte buffer (src/core/buf.c): appends and
 * their NUL terminator, growth across many reallocations, the ceiling fixed at init
 * (an append past it fails with SW_ETOO_LARGE and leaves the contents as they
 * were, exactly max bytes still fit), formatted appends longer than the internal
 * scratch space, reset, detach handing the bytes to the caller, and allocation
 * failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <string.h>

static void test_empty(void **state)
{
    struct sw_buf b;

    sw_buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 100);
    assert_int_equal(sw_buf_append(&b, "", 0), 0);
    assert_int_equal(b.len, 0);
    sw_buf_free(&b);
    sw_buf_free(&b); /* twice is harmless */
}

static void test_append_and_terminator(void **state)
{
    struct sw_buf b;

    sw_buf_init(&b, 1024);
    assert_int_equal(sw_buf_appendstr(&b, "hello"), 0);
    assert_int_equal(sw_buf_append(&b, ", world!!", 7), 0);
    assert_int_equal(b.len, 12);
    assert_string_equal(b.data, "hello, world");
    assert_int_equal(sw_buf_append(&b, "\0x", 2), 0); /* binary bytes are kept */
    assert_int_equal(b.len, 14);
    assert_memory_equal(b.data, "hello, world\0x", 15);
    sw_buf_free(&b);
}

static void test_growth(void **state)
{
    struct sw_buf b;
    char chunk[37];

    sw_buf_init(&b, 1 << 20);
    for (int i = 0; i < 10000; i++) {
        memset(chunk, 'a' + i % 26, sizeof chunk);
        assert_int_equal(sw_buf_append(&b, chunk, sizeof chunk), 0);
    }
    assert_int_equal(b.len, 370000);
    assert_true(b.cap > b.len);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(b.data[i * 37 + 36], 'a' + i % 26);
    assert_int_equal(b.data[b.len], '\0');
    sw_buf_free(&b);
}

static void test_ceiling(void **state)
{
    struct sw_buf b;

    sw_buf_init(&b, 10);
    assert_int_equal(sw_buf_appendstr(&b, "0123456"), 0);
    assert_int_equal(sw_buf_appendstr(&b, "7890"), SW_ETOO_LARGE);
    assert_int_equal(b.len, 7);
    assert_string_equal(b.data, "0123456");
    assert_int_equal(sw_buf_appendstr(&b, "789"), 0); /* exactly max */
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    assert_int_equal(sw_buf_append(&b, "x", 1), SW_ETOO_LARGE);
    assert_int_equal(sw_buf_appendf(&b, "%d", 1), SW_ETOO_LARGE);
    assert_string_equal(b.data, "0123456789");
    assert_int_equal(sw_buf_append(&b, "", 0), 0);
    sw_buf_free(&b);
}

static void test_ceiling_huge_length(void **state)
{
    struct sw_buf b;

    /* a length near SIZE_MAX must not wrap around the check */
    sw_buf_init(&b, 64);
    assert_int_equal(sw_buf_appendstr(&b, "abc"), 0);
    assert_int_equal(sw_buf_append(&b, "x", SIZE_MAX), SW_ETOO_LARGE);
    assert_int_equal(sw_buf_append(&b, "x", SIZE_MAX - 2), SW_ETOO_LARGE);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    sw_buf_free(&b);
}

static void test_ceiling_from_empty(void **state)
{
    struct sw_buf b;
    char big[300];

    memset(big, 'z', sizeof big);
    sw_buf_init(&b, 100);
    assert_int_equal(sw_buf_append(&b, big, sizeof big), SW_ETOO_LARGE);
    assert_int_equal(b.len, 0);
    assert_null(b.data); /* nothing was allocated */
    sw_buf_free(&b);
}

static void test_appendf_small_and_large(void **state)
{
    struct sw_buf b;
    char big[5000];

    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sw_buf_init(&b, 1 << 16);
    assert_int_equal(sw_buf_appendf(&b, "[%d:%s]", 42, "x"), 0);
    assert_string_equal(b.data, "[42:x]");
    assert_int_equal(sw_buf_appendf(&b, "<%s>", big), 0);
    assert_int_equal(b.len, 6 + 2 + 4999);
    assert_memory_equal(b.data, "[42:x]<", 7);
    assert_int_equal(b.data[7 + 4998], 'q');
    assert_int_equal(b.data[7 + 4999], '>');
    assert_int_equal(b.data[b.len], '\0');
    assert_int_equal(strlen(b.data), b.len);
    /* exactly 256 and 255 characters: both sides of the scratch size */
    sw_buf_reset(&b);
    assert_int_equal(sw_buf_appendf(&b, "%.*s", 255, big), 0);
    assert_int_equal(sw_buf_appendf(&b, "%.*s", 256, big), 0);
    assert_int_equal(b.len, 511);
    assert_int_equal(strlen(b.data), 511);
    sw_buf_free(&b);
}

static void test_appendf_large_past_ceiling(void **state)
{
    struct sw_buf b;
    char big[1000];

    memset(big, 'w', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sw_buf_init(&b, 900);
    assert_int_equal(sw_buf_appendstr(&b, "keep"), 0);
    assert_int_equal(sw_buf_appendf(&b, "%s", big), SW_ETOO_LARGE);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "keep");
    assert_int_equal(sw_buf_appendf(&b, "%.*s", 896, big), 0); /* up to max */
    assert_int_equal(b.len, 900);
    assert_int_equal(strlen(b.data), 900);
    sw_buf_free(&b);
}

static void test_reset(void **state)
{
    struct sw_buf b;

    sw_buf_init(&b, 100);
    sw_buf_reset(&b); /* on an empty buffer */
    assert_int_equal(sw_buf_appendstr(&b, "abc"), 0);
    size_t cap = b.cap;
    sw_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(b.cap, cap);
    assert_int_equal(sw_buf_appendstr(&b, "de"), 0);
    assert_string_equal(b.data, "de");
    sw_buf_free(&b);
}

static void test_detach(void **state)
{
    struct sw_buf b;
    size_t len = 0;

    sw_buf_init(&b, 100);
    assert_int_equal(sw_buf_appendstr(&b, "payload"), 0);
    char *data = sw_buf_detach(&b, &len);
    assert_string_equal(data, "payload");
    assert_int_equal(len, 7);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100); /* the ceiling stays */
    sw_free(data);
    /* the buffer is usable again */
    assert_int_equal(sw_buf_appendstr(&b, "again"), 0);
    data = sw_buf_detach(&b, NULL);
    assert_string_equal(data, "again");
    sw_free(data);
    /* detaching an empty buffer gives NULL */
    assert_null(sw_buf_detach(&b, &len));
    assert_int_equal(len, 0);
    sw_buf_free(&b);
}

static void test_out_of_memory(void **state)
{
    struct sw_buf b;

    sw_buf_init(&b, 1 << 20);
    assert_int_equal(sw_buf_appendstr(&b, "abc"), 0);
    char big[600];
    memset(big, 'm', sizeof big);
    sw_alloc_fail_after(1);
    assert_int_equal(sw_buf_append(&b, big, sizeof big), SW_ENOMEM);
    sw_alloc_fail_after(0);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    assert_int_equal(sw_buf_append(&b, big, sizeof big), 0);
    assert_int_equal(b.len, 603);
    sw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append_and_terminator),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_ceiling_huge_length),
        cmocka_unit_test(test_ceiling_from_empty),
        cmocka_unit_test(test_appendf_small_and_large),
        cmocka_unit_test(test_appendf_large_past_ceiling),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_detach),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
