/* SPDX-License-Identifier: MIT
 * test_linebuf.c - unit tests of the line splitter (src/runtime/linebuf.c): lines
 * cut across chunks down to one byte at a time, "\r\n" endings, lines longer than the
 * ceiling (delivered once, cut, the rest skipped, also when the excess arrives in
 * later chunks), a line of exactly the ceiling with and without '\r', many lines in
 * one chunk, finish with a partial line, the buffer never growing past max_line + 1,
 * and allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "runtime/linebuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lines seen, rendered "text|" or "text+|" (too long), for exact comparisons. */
struct seen {
    struct sw_buf text;
    int lines, too_long;
};

static void seen_init(struct seen *s)
{
    memset(s, 0, sizeof *s);
    sw_buf_init(&s->text, 64 << 20);
}

static void on_line(void *arg, const char *line, size_t len, int too_long)
{
    struct seen *s = arg;

    s->lines++;
    s->too_long += too_long;
    assert_int_equal(sw_buf_append(&s->text, line, len), 0);
    assert_int_equal(sw_buf_appendstr(&s->text, too_long ? "+|" : "|"), 0);
}

static const char *seen_text(struct seen *s)
{
    return s->text.len ? s->text.data : "";
}

static void feed_str(struct sw_linebuf *lb, const char *text, struct seen *s)
{
    assert_int_equal(sw_linebuf_feed(lb, text, strlen(text), on_line, s), 0);
}

static void test_whole_lines(void **state)
{
    struct sw_linebuf lb;
    struct seen s;

    seen_init(&s);
    sw_linebuf_init(&lb, 100);
    feed_str(&lb, "one\ntwo\n\nfour\n", &s);
    assert_string_equal(seen_text(&s), "one|two||four|");
    assert_int_equal(s.lines, 4);
    assert_int_equal(sw_linebuf_capacity(&lb), 0); /* nothing was kept: no copy */
    sw_linebuf_finish(&lb, on_line, &s);
    assert_int_equal(s.lines, 4);
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);
}

static void test_split_across_chunks(void **state)
{
    const char *text = "alpha beta\ngamma\r\n\ndelta epsilon\n";
    struct sw_linebuf lb;
    struct seen s;

    /* every split point of the text into two chunks */
    for (size_t cut = 0; cut <= strlen(text); cut++) {
        seen_init(&s);
        sw_linebuf_init(&lb, 100);
        assert_int_equal(sw_linebuf_feed(&lb, text, cut, on_line, &s), 0);
        assert_int_equal(sw_linebuf_feed(&lb, text + cut, strlen(text) - cut, on_line, &s), 0);
        assert_string_equal(seen_text(&s), "alpha beta|gamma||delta epsilon|");
        sw_linebuf_free(&lb);
        sw_buf_free(&s.text);
    }
    /* one byte at a time */
    seen_init(&s);
    sw_linebuf_init(&lb, 100);
    for (size_t i = 0; text[i]; i++)
        assert_int_equal(sw_linebuf_feed(&lb, text + i, 1, on_line, &s), 0);
    assert_string_equal(seen_text(&s), "alpha beta|gamma||delta epsilon|");
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);
}

static void test_crlf(void **state)
{
    struct sw_linebuf lb;
    struct seen s;

    seen_init(&s);
    sw_linebuf_init(&lb, 100);
    feed_str(&lb, "a\r\nb\r", &s);
    feed_str(&lb, "\n\r\n", &s);
    feed_str(&lb, "c\rd\n", &s); /* only a trailing '\r' goes */
    feed_str(&lb, "e\r\r\n", &s);
    assert_string_equal(seen_text(&s), "a|b||c\rd|e\r|");
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);
}

static void test_too_long(void **state)
{
    struct sw_linebuf lb;
    struct seen s;

    /* in one chunk */
    seen_init(&s);
    sw_linebuf_init(&lb, 5);
    feed_str(&lb, "12345\n123456\nabc\n", &s);
    assert_string_equal(seen_text(&s), "12345|12345+|abc|");
    assert_int_equal(s.too_long, 1);
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);

    /* the excess arrives over several chunks: delivered once, the rest skipped */
    seen_init(&s);
    sw_linebuf_init(&lb, 5);
    feed_str(&lb, "ok\nabc", &s);
    feed_str(&lb, "def", &s);
    assert_string_equal(seen_text(&s), "ok|abcde+|");
    feed_str(&lb, "ghijklmnop", &s);
    feed_str(&lb, "qrstuvwxyz", &s);
    feed_str(&lb, "still the same line", &s);
    assert_int_equal(s.lines, 2);
    feed_str(&lb, "end\nnext\n", &s);
    assert_string_equal(seen_text(&s), "ok|abcde+|next|");
    assert_int_equal(s.too_long, 1);
    sw_linebuf_finish(&lb, on_line, &s); /* nothing pending */
    assert_int_equal(s.lines, 3);
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);

    /* skipping ends at the chunk's '\n' and the same chunk goes on */
    seen_init(&s);
    sw_linebuf_init(&lb, 3);
    feed_str(&lb, "abcdefgh", &s);
    feed_str(&lb, "ij\nxy\nlong line\nz", &s);
    sw_linebuf_finish(&lb, on_line, &s);
    assert_string_equal(seen_text(&s), "abc+|xy|lon+|z|");
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);
}

static void test_exactly_max(void **state)
{
    struct sw_linebuf lb;
    struct seen s;

    /* max_line bytes plus '\r' is not too long, even cut before the '\n' */
    seen_init(&s);
    sw_linebuf_init(&lb, 4);
    feed_str(&lb, "abcd\r", &s);
    feed_str(&lb, "\n", &s);
    feed_str(&lb, "wxyz", &s);
    feed_str(&lb, "\r\n", &s);
    feed_str(&lb, "abcd\r", &s);
    feed_str(&lb, "e\nf\n", &s); /* "abcd\re" is too long */
    assert_string_equal(seen_text(&s), "abcd|wxyz|abcd+|f|");
    assert_true(sw_linebuf_capacity(&lb) <= 5);
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);
}

static void test_many_lines_one_chunk(void **state)
{
    struct sw_linebuf lb;
    struct seen s;
    struct sw_buf chunk, expected;

    sw_buf_init(&chunk, 8 << 20);
    sw_buf_init(&expected, 8 << 20);
    for (int i = 0; i < 100000; i++) {
        assert_int_equal(sw_buf_appendf(&chunk, "line %d%s\n", i, i % 3 ? "" : "\r"), 0);
        assert_int_equal(sw_buf_appendf(&expected, "line %d|", i), 0);
    }
    assert_int_equal(sw_buf_appendstr(&chunk, "tail"), 0);
    assert_int_equal(sw_buf_appendstr(&expected, "tail|"), 0);
    seen_init(&s);
    sw_linebuf_init(&lb, 64);
    assert_int_equal(sw_linebuf_feed(&lb, chunk.data, chunk.len, on_line, &s), 0);
    assert_int_equal(s.lines, 100000);
    sw_linebuf_finish(&lb, on_line, &s);
    assert_int_equal(s.lines, 100001);
    assert_string_equal(seen_text(&s), expected.data);
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);
    sw_buf_free(&chunk);
    sw_buf_free(&expected);
}

static void test_finish_partial(void **state)
{
    struct sw_linebuf lb;
    struct seen s;

    seen_init(&s);
    sw_linebuf_init(&lb, 10);
    feed_str(&lb, "done\npart", &s);
    feed_str(&lb, "ial\r", &s);
    sw_linebuf_finish(&lb, on_line, &s);
    assert_string_equal(seen_text(&s), "done|partial|");
    sw_linebuf_finish(&lb, on_line, &s); /* twice: nothing more */
    assert_int_equal(s.lines, 2);
    feed_str(&lb, "again\n", &s); /* usable after finish */
    assert_string_equal(seen_text(&s), "done|partial|again|");
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);
}

static void test_allocation_bounded(void **state)
{
    const size_t max_line = 1000;
    struct sw_linebuf lb;
    struct seen s;
    char *big = malloc(1 << 20);

    assert_non_null(big);
    memset(big, 'x', 1 << 20);
    seen_init(&s);
    sw_linebuf_init(&lb, max_line);
    /* a 10 MiB line in 1 MiB chunks, after a partial start so that it is buffered */
    feed_str(&lb, "y", &s);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(sw_linebuf_feed(&lb, big, 1 << 20, on_line, &s), 0);
        assert_true(sw_linebuf_capacity(&lb) <= max_line + 1);
    }
    feed_str(&lb, "\n", &s);
    assert_int_equal(s.lines, 1);
    assert_int_equal(s.too_long, 1);
    assert_int_equal(s.text.len, max_line + 2); /* the first max_line bytes and "+|" */
    assert_int_equal(s.text.data[0], 'y');
    /* partial lines of every length up to the ceiling */
    for (size_t n = 1; n <= max_line + 1; n++) {
        assert_int_equal(sw_linebuf_feed(&lb, big, n, on_line, &s), 0);
        assert_true(sw_linebuf_capacity(&lb) <= max_line + 1);
        feed_str(&lb, "\n", &s);
    }
    assert_int_equal(s.too_long, 2); /* only the one of max_line + 1 bytes */
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);
    free(big);
}

static void test_out_of_memory(void **state)
{
    struct sw_linebuf lb;
    struct seen s;

    seen_init(&s);
    sw_linebuf_init(&lb, 100);
    feed_str(&lb, "a\n", &s); /* s.text has its room now */
    sw_alloc_fail_after(1);
    assert_int_equal(sw_linebuf_feed(&lb, "lost", 4, on_line, &s), SW_ENOMEM);
    sw_alloc_fail_after(0);
    feed_str(&lb, " still lost\nb\n", &s); /* the line that could not be kept is dropped */
    assert_string_equal(seen_text(&s), "a|b|");
    sw_linebuf_free(&lb);
    sw_buf_free(&s.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_lines),    cmocka_unit_test(test_split_across_chunks),
        cmocka_unit_test(test_crlf),           cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_exactly_max),    cmocka_unit_test(test_many_lines_one_chunk),
        cmocka_unit_test(test_finish_partial), cmocka_unit_test(test_allocation_bounded),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
