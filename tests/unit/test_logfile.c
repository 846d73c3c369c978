/* SPDX-License-Identifier: MIT
 * test_logfile.c - unit tests of the size-rotated log files (src/runtime/logfile.c):
 * directories and files created with modes 0700 and 0600, appends to an existing
 * file counted toward its size, rotation at max_bytes keeping exactly `keep` older
 * files with the oldest removed, keep 0, a single write larger than max_bytes, and
 * the tail of n lines within one file, across the rotation boundary, bounded by the
 * output buffer's ceiling, with an unterminated last line and for a missing file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "runtime/logfile.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"

struct fixture {
    char dir[256];
    char path[PATH_MAX]; /* DIR/logs/agents/a1.log, its directories not yet made */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_logfile.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/logs/agents/a1.log", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    remove_tree(f->dir);
    free(f);
    return 0;
}

/* The contents of path (or of path.N when n > 0), "<missing>" if there is none. */
static char *slurp(const char *path, int n)
{
    static char text[1 << 16];
    char name[PATH_MAX + 16];
    ssize_t len;
    int fd;

    if (n > 0)
        snprintf(name, sizeof name, "%s.%d", path, n);
    else
        snprintf(name, sizeof name, "%s", path);
    fd = open(name, O_RDONLY);
    if (fd < 0)
        return "<missing>";
    len = read(fd, text, sizeof text - 1);
    close(fd);
    text[len < 0 ? 0 : len] = '\0';
    return text;
}

/* "line 0000\n" .. : ten bytes each */
static void write_lines(struct sw_logfile *lf, int from, int to)
{
    char line[24];

    for (int i = from; i < to; i++) {
        snprintf(line, sizeof line, "line %04d\n", i);
        assert_int_equal(sw_logfile_write(lf, line, 10), 0);
    }
}

static char *lines(int from, int to)
{
    static char text[1 << 16];
    size_t len = 0;

    text[0] = '\0';
    for (int i = from; i < to; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "line %04d\n", i);
    return text;
}

static void test_write_and_modes(void **state)
{
    struct fixture *f = *state;
    struct sw_logfile *lf;
    struct stat st;
    char dir[PATH_MAX];

    assert_int_equal(sw_logfile_open(f->path, 1 << 20, 3, &lf), 0);
    assert_string_equal(sw_logfile_path(lf), f->path);
    assert_int_equal(sw_logfile_write(lf, "hello\n", 6), 0);
    assert_int_equal(sw_logfile_write(lf, "", 0), 0);
    assert_int_equal(sw_logfile_write(lf, "world\n", 6), 0);
    assert_int_equal(sw_logfile_size(lf), 12);
    assert_string_equal(slurp(f->path, 0), "hello\nworld\n");
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(dir, sizeof dir, "%s/logs/agents", f->dir);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    sw_logfile_close(lf);

    /* reopened: appends, and the size starts from what is there */
    assert_int_equal(sw_logfile_open(f->path, 1 << 20, 3, &lf), 0);
    assert_int_equal(sw_logfile_size(lf), 12);
    assert_int_equal(sw_logfile_write(lf, "again\n", 6), 0);
    assert_string_equal(slurp(f->path, 0), "hello\nworld\nagain\n");
    sw_logfile_close(lf);

    assert_int_equal(sw_logfile_open("", 100, 1, &lf), SW_EINVAL);
    assert_int_equal(sw_logfile_open(f->path, 100, -1, &lf), SW_EINVAL);
    assert_null(lf);
    sw_logfile_close(NULL);
}

static void test_rotation_keeps_files(void **state)
{
    struct fixture *f = *state;
    struct sw_logfile *lf;

    assert_int_equal(sw_logfile_open(f->path, 100, 2, &lf), 0);
    write_lines(lf, 0, 10); /* exactly max_bytes: no rotation yet */
    assert_string_equal(slurp(f->path, 1), "<missing>");
    write_lines(lf, 10, 35);
    assert_string_equal(slurp(f->path, 0), lines(30, 35));
    assert_string_equal(slurp(f->path, 1), lines(20, 30));
    assert_string_equal(slurp(f->path, 2), lines(10, 20));
    assert_string_equal(slurp(f->path, 3), "<missing>"); /* lines 0-9: removed */
    assert_int_equal(sw_logfile_size(lf), 50);
    sw_logfile_close(lf);

    /* a reopened file over the ceiling rotates at the next write */
    assert_int_equal(sw_logfile_open(f->path, 40, 2, &lf), 0);
    write_lines(lf, 35, 36);
    assert_string_equal(slurp(f->path, 0), lines(35, 36));
    assert_string_equal(slurp(f->path, 1), lines(30, 35));
    assert_string_equal(slurp(f->path, 2), lines(20, 30));
    sw_logfile_close(lf);
}

static void test_rotation_keep_zero_and_big_write(void **state)
{
    struct fixture *f = *state;
    struct sw_logfile *lf;
    char big[250];

    assert_int_equal(sw_logfile_open(f->path, 100, 0, &lf), 0);
    write_lines(lf, 0, 25);
    assert_string_equal(slurp(f->path, 0), lines(20, 25));
    assert_string_equal(slurp(f->path, 1), "<missing>");
    sw_logfile_close(lf);

    /* a write larger than max_bytes goes whole into a fresh file */
    remove(f->path);
    assert_int_equal(sw_logfile_open(f->path, 100, 1, &lf), 0);
    write_lines(lf, 0, 3);
    memset(big, 'b', sizeof big);
    big[sizeof big - 1] = '\n';
    assert_int_equal(sw_logfile_write(lf, big, sizeof big), 0);
    assert_int_equal(sw_logfile_size(lf), sizeof big);
    assert_string_equal(slurp(f->path, 1), lines(0, 3));
    write_lines(lf, 3, 4);
    assert_string_equal(slurp(f->path, 0), lines(3, 4));
    assert_int_equal(strlen(slurp(f->path, 1)), sizeof big);
    sw_logfile_close(lf);
}

static void test_tail(void **state)
{
    struct fixture *f = *state;
    struct sw_logfile *lf;
    struct sw_buf out;

    assert_int_equal(sw_logfile_open(f->path, 100, 3, &lf), 0);
    write_lines(lf, 0, 35); /* path: 30-34, path.1: 20-29, path.2: 10-19 */

    sw_buf_init(&out, 1 << 20);
    assert_int_equal(sw_logfile_tail(f->path, 3, &out), 0);
    assert_string_equal(out.data, lines(32, 35));
    sw_buf_reset(&out);
    assert_int_equal(sw_logfile_tail(f->path, 5, &out), 0);
    assert_string_equal(out.data, lines(30, 35));
    sw_buf_reset(&out);
    /* across the rotation boundary */
    assert_int_equal(sw_logfile_tail(f->path, 8, &out), 0);
    assert_string_equal(out.data, lines(27, 35));
    sw_buf_reset(&out);
    /* path.1 only, never path.2 */
    assert_int_equal(sw_logfile_tail(f->path, 1000, &out), 0);
    assert_string_equal(out.data, lines(20, 35));
    sw_buf_reset(&out);
    assert_int_equal(sw_logfile_tail(f->path, 0, &out), 0);
    assert_int_equal(out.len, 0);
    sw_buf_free(&out);

    /* bounded by the buffer: the oldest lines go, then all but the newest's end */
    sw_buf_init(&out, 25);
    assert_int_equal(sw_logfile_tail(f->path, 5, &out), 0);
    assert_string_equal(out.data, lines(33, 35));
    sw_buf_free(&out);
    sw_buf_init(&out, 45);
    assert_int_equal(sw_logfile_tail(f->path, 8, &out), 0); /* 3 of path.1 do not fit */
    assert_string_equal(out.data, lines(31, 35));
    sw_buf_free(&out);
    sw_buf_init(&out, 4);
    assert_int_equal(sw_logfile_tail(f->path, 5, &out), 0);
    assert_string_equal(out.data, "034\n");
    sw_buf_free(&out);
    /* a file one byte larger than the room: no older lines after a cut */
    sw_buf_init(&out, 49);
    assert_int_equal(sw_logfile_tail(f->path, 8, &out), 0);
    assert_string_equal(out.data, lines(31, 35));
    sw_buf_free(&out);
    /* appended after what the buffer holds, within its ceiling */
    sw_buf_init(&out, 30);
    assert_int_equal(sw_buf_appendstr(&out, "0123456789"), 0);
    assert_int_equal(sw_logfile_tail(f->path, 5, &out), 0);
    assert_string_equal(out.data, "0123456789line 0033\nline 0034\n");
    sw_buf_free(&out);

    /* an unterminated last line still ends in '\n' */
    assert_int_equal(sw_logfile_write(lf, "partial", 7), 0);
    sw_buf_init(&out, 1 << 20);
    assert_int_equal(sw_logfile_tail(f->path, 2, &out), 0);
    assert_string_equal(out.data, "line 0034\npartial\n");
    sw_buf_free(&out);
    sw_logfile_close(lf);
}

static void test_tail_edges(void **state)
{
    struct fixture *f = *state;
    struct sw_logfile *lf;
    struct sw_buf out;
    char missing[PATH_MAX + 16];

    sw_buf_init(&out, 1 << 20);
    snprintf(missing, sizeof missing, "%s/none.log", f->dir);
    assert_int_equal(sw_logfile_tail(missing, 5, &out), SW_ENOT_FOUND);
    assert_int_equal(sw_logfile_tail(missing, -1, &out), SW_EINVAL);

    /* an empty file after a rotation: the lines come from path.1 */
    assert_int_equal(sw_logfile_open(f->path, 30, 1, &lf), 0);
    write_lines(lf, 0, 3);
    assert_int_equal(sw_logfile_tail(f->path, 2, &out), 0);
    assert_string_equal(out.data, lines(1, 3));
    sw_buf_reset(&out);
    write_lines(lf, 3, 4);
    assert_int_equal(sw_logfile_tail(f->path, 2, &out), 0);
    assert_string_equal(out.data, lines(2, 4));
    sw_buf_reset(&out);
    sw_logfile_close(lf);
    truncate(f->path, 0);
    assert_int_equal(sw_logfile_tail(f->path, 2, &out), 0);
    assert_string_equal(out.data, lines(1, 3));
    sw_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_keeps_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_keep_zero_and_big_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_edges, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
