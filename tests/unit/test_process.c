/* SPDX-License-Identifier: MIT
 * test_process.c - unit tests of the child process runtime (src/runtime/process.c)
 * on a real libuv loop: output read then the exit (10 MB of stdout all delivered
 * before the exit callback), exit codes, stop with a grace period that ends in
 * SIGKILL for the whole process group (a grandchild dies too), stdin written and
 * read back through cat, closing stdin, writing to a child that exited or closed its
 * stdin, the stdin queue ceiling, a missing or non-executable binary, closing from
 * inside the callbacks and while the child runs (and it is reaped), environment and
 * working directory, a child that closes stdout early and a grandchild that keeps the
 * pipe open after the child exited. Each test has its own loop and temp dir and waits
 * by running the loop until a condition holds or a deadline passes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "runtime/process.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

#define BIG_OUTPUT  (10 * 1024 * 1024)
#define WAIT_MS     10000
#define PATTERN     "0123456789abcdef\n"
#define PATTERN_LEN 17

struct fixture {
    uv_loop_t loop;
    uv_timer_t guard; /* wakes UV_RUN_ONCE up so that deadlines are checked */
    char dir[PATH_MAX];
};

struct run {
    struct sw_buf out, err;
    int exit_calls;
    int64_t status;
    int term_signal;
    int eof_out, eof_err;
    int eofs_at_exit; /* both streams had ended when exit_cb ran */
    int calls_after_close;
    int closed;
    int close_in_exit, close_in_read;
    uint64_t exit_at;
};

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000;
}

/* Runs the loop until cond holds or ms pass. */
#define WAIT_FOR(f, cond, ms)                                                                      \
    do {                                                                                           \
        uint64_t deadline_ = now_ms() + (ms);                                                      \
        while (!(cond) && now_ms() < deadline_)                                                    \
            uv_run(&(f)->loop, UV_RUN_ONCE);                                                       \
    } while (0)

static void guard_cb(uv_timer_t *t) {}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_process.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->guard);
    uv_timer_start(&f->guard, guard_cb, 20, 20);
    uv_unref((uv_handle_t *)&f->guard);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    WAIT_FOR(f, !uv_loop_alive(&f->loop), WAIT_MS);
    uv_close((uv_handle_t *)&f->guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    remove_tree(f->dir);
    free(f);
    return 0;
}

static void run_init(struct run *r)
{
    memset(r, 0, sizeof *r);
    sw_buf_init(&r->out, 2 * BIG_OUTPUT);
    sw_buf_init(&r->err, 1 << 20);
}

static void run_free(struct run *r)
{
    sw_buf_free(&r->out);
    sw_buf_free(&r->err);
}

static void on_exit_cb(struct sw_process *p, int64_t status, int term_signal)
{
    struct run *r = sw_process_data(p);

    if (r->closed)
        r->calls_after_close++;
    r->exit_calls++;
    r->status = status;
    r->term_signal = term_signal;
    r->eofs_at_exit = r->eof_out && r->eof_err;
    r->exit_at = now_ms();
    if (r->close_in_exit) {
        r->closed = 1;
        sw_process_close(p);
    }
}

static void on_read_cb(struct sw_process *p, int stream, const char *data, size_t len)
{
    struct run *r = sw_process_data(p);

    if (r->closed)
        r->calls_after_close++;
    if (len == 0) {
        if (stream == 1)
            r->eof_out = 1;
        else
            r->eof_err = 1;
        return;
    }
    assert_int_equal(sw_buf_append(stream == 1 ? &r->out : &r->err, data, len), 0);
    if (r->close_in_read) {
        r->closed = 1;
        sw_process_close(p);
    }
}

static struct sw_process *spawn_on(struct fixture *f, struct run *r, char *const *argv,
                                   int pipe_stdin)
{
    struct sw_process_options o = {
        .argv = argv, .pipe_stdin = pipe_stdin, .pipe_stdout = 1, .pipe_stderr = 1};
    struct sw_process *p = NULL;

    assert_int_equal(sw_process_spawn(&f->loop, &o, on_exit_cb, on_read_cb, r, &p), 0);
    assert_non_null(p);
    assert_true(sw_process_pid(p) > 0);
    assert_ptr_equal(sw_process_data(p), r);
    return p;
}

static struct sw_process *spawn_sh(struct fixture *f, struct run *r, const char *script)
{
    char *const argv[] = {"/bin/sh", "-c", (char *)script, NULL};

    return spawn_on(f, r, argv, 0);
}

/* 1 when pid no longer runs: gone, or a zombie nobody reaped yet. */
static int pid_gone(int pid)
{
    char path[64], stat_text[512];
    const char *paren;
    ssize_t n;
    int fd;

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return 1;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return 1;
    n = read(fd, stat_text, sizeof stat_text - 1);
    close(fd);
    if (n <= 0)
        return 1;
    stat_text[n] = '\0';
    paren = strrchr(stat_text, ')');
    return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

static void test_echo(void **state)
{
    struct fixture *f = *state;
    char *const argv[] = {"echo", "hello", "world", NULL};
    struct run r;
    struct sw_process *p;

    run_init(&r);
    p = spawn_on(f, &r, argv, 0);
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.term_signal, 0);
    assert_true(r.eofs_at_exit);
    assert_string_equal(r.out.data, "hello world\n");
    assert_int_equal(r.err.len, 0);
    assert_true(sw_process_exited(p));
    sw_process_close(p);
    run_free(&r);
}

static void test_big_output_before_exit(void **state)
{
    struct fixture *f = *state;
    struct run r;
    struct sw_process *p;

    run_init(&r);
    p = spawn_sh(f, &r, "yes 0123456789abcdef | head -c 10485760; echo done >&2; exit 0");
    WAIT_FOR(f, r.exit_calls, 30000);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.eofs_at_exit);
    assert_int_equal(r.out.len, BIG_OUTPUT);
    for (size_t i = 0; i < r.out.len; i += 4093)
        assert_int_equal(r.out.data[i], PATTERN[i % PATTERN_LEN]);
    assert_int_equal(r.out.data[r.out.len - 1], PATTERN[(r.out.len - 1) % PATTERN_LEN]);
    assert_string_equal(r.err.data, "done\n");
    sw_process_close(p);
    run_free(&r);
}

static void test_exit_code(void **state)
{
    struct fixture *f = *state;
    struct run r;
    struct sw_process *p;

    run_init(&r);
    p = spawn_sh(f, &r, "echo out; echo err >&2; exit 7");
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(r.status, 7);
    assert_int_equal(r.term_signal, 0);
    assert_string_equal(r.out.data, "out\n");
    assert_string_equal(r.err.data, "err\n");
    sw_process_close(p);
    run_free(&r);
}

static int parse_pid(const struct sw_buf *b)
{
    if (b->len == 0 || strchr(b->data, '\n') == NULL)
        return 0;
    return atoi(b->data);
}

static void test_stop_grace_kills_group(void **state)
{
    struct fixture *f = *state;
    struct run r;
    struct sw_process *p;
    uint64_t stopped_at;
    int grandchild;

    run_init(&r);
    p = spawn_sh(f, &r, "trap '' TERM; sleep 100 & echo $!; wait; wait; exit 3");
    WAIT_FOR(f, parse_pid(&r.out) > 0, WAIT_MS);
    grandchild = parse_pid(&r.out);
    assert_true(grandchild > 0);
    assert_false(pid_gone(grandchild));

    stopped_at = now_ms();
    sw_process_stop(p, 300);
    sw_process_stop(p, 5000); /* a later deadline does not postpone the first */
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(r.status, -1);
    assert_int_equal(r.term_signal, SIGKILL);
    assert_true(r.exit_at - stopped_at >= 250); /* SIGTERM was ignored */
    assert_true(r.exit_at - stopped_at < 4000);
    WAIT_FOR(f, pid_gone(grandchild), WAIT_MS);
    assert_true(pid_gone(grandchild));

    sw_process_stop(p, 100); /* after the exit: nothing happens */
    sw_process_signal(p, SIGTERM);
    sw_process_close(p);
    run_free(&r);
}

static void test_stop_term_then_kill_now(void **state)
{
    struct fixture *f = *state;
    struct run r;
    struct sw_process *p;

    /* a child that does not ignore SIGTERM dies of it, long before the grace ends */
    run_init(&r);
    p = spawn_sh(f, &r, "echo up; sleep 100");
    WAIT_FOR(f, r.out.len > 0, WAIT_MS);
    sw_process_stop(p, 60000);
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(r.status, -1);
    assert_int_equal(r.term_signal, SIGTERM);
    sw_process_close(p);
    run_free(&r);

    /* grace 0 = SIGKILL at once, even after a SIGTERM with a long grace */
    run_init(&r);
    p = spawn_sh(f, &r, "trap '' TERM; echo up; sleep 100 & wait; wait");
    WAIT_FOR(f, r.out.len > 0, WAIT_MS);
    sw_process_stop(p, 60000);
    sw_process_stop(p, 0);
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(r.term_signal, SIGKILL);
    sw_process_close(p);
    run_free(&r);
}

static void test_stdin_through_cat(void **state)
{
    struct fixture *f = *state;
    char *const argv[] = {"cat", NULL};
    struct run r;
    struct sw_process *p;
    char *chunk = malloc(1 << 20);

    assert_non_null(chunk);
    for (size_t i = 0; i < 1 << 20; i++)
        chunk[i] = PATTERN[i % PATTERN_LEN];
    run_init(&r);
    p = spawn_on(f, &r, argv, 1);
    assert_int_equal(sw_process_write(p, "first line\n", 11), 0);
    WAIT_FOR(f, r.out.len == 11, WAIT_MS);
    assert_string_equal(r.out.data, "first line\n");
    assert_int_equal(r.exit_calls, 0); /* cat waits for more */

    for (int i = 0; i < 4; i++)
        assert_int_equal(sw_process_write(p, chunk, 1 << 20), 0);
    assert_int_equal(sw_process_write(p, "", 0), 0);
    sw_process_close_stdin(p);
    assert_int_equal(sw_process_write(p, "late", 4), SW_EIO);
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1); /* EOF on its stdin made cat exit */
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out.len, 11 + 4 * (1 << 20));
    for (int i = 0; i < 4; i++)
        assert_memory_equal(r.out.data + 11 + (size_t)i * (1 << 20), chunk, 1 << 20);
    assert_int_equal(sw_process_stdin_queued(p), 0);
    sw_process_close(p);
    run_free(&r);
    free(chunk);
}

static void test_stdin_queue_ceiling(void **state)
{
    struct fixture *f = *state;
    char *const argv[] = {"cat", NULL};
    char block[600];
    struct run r;
    struct sw_process *p;

    memset(block, 'x', sizeof block);
    run_init(&r);
    p = spawn_on(f, &r, argv, 1);
    sw_process_set_max_stdin_queue(p, 1000);
    assert_int_equal(sw_process_write(p, block, sizeof block), 0);
    /* counted until its write callback, which comes from the loop */
    assert_int_equal(sw_process_stdin_queued(p), sizeof block);
    assert_int_equal(sw_process_write(p, block, sizeof block), SW_ETOO_LARGE);
    assert_int_equal(sw_process_write(p, block, 400), 0);
    WAIT_FOR(f, r.out.len == 1000, WAIT_MS);
    assert_int_equal(r.out.len, 1000);
    assert_int_equal(sw_process_stdin_queued(p), 0);
    assert_int_equal(sw_process_write(p, block, sizeof block), 0);
    sw_process_close(p);
    run_free(&r);

    /* stdin not piped: nothing to write to */
    run_init(&r);
    p = spawn_sh(f, &r, "exit 0");
    assert_int_equal(sw_process_write(p, "x", 1), SW_EIO);
    sw_process_close_stdin(p);
    sw_process_close(p);
    run_free(&r);
}

static void test_write_after_exit(void **state)
{
    struct fixture *f = *state;
    char *const argv[] = {"/bin/sh", "-c", "exit 0", NULL};
    char *const closes_stdin[] = {"/bin/sh", "-c", "exec 0<&-; echo ready; sleep 100", NULL};
    struct run r;
    struct sw_process *p;
    int rc = 0;

    run_init(&r);
    p = spawn_on(f, &r, argv, 1);
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(sw_process_write(p, "hello\n", 6), SW_EIO);
    sw_process_close_stdin(p); /* harmless now */
    sw_process_close(p);
    run_free(&r);

    /* a running child that closed its stdin: EPIPE shows as SW_EIO, no SIGPIPE death */
    run_init(&r);
    p = spawn_on(f, &r, closes_stdin, 1);
    WAIT_FOR(f, r.out.len > 0, WAIT_MS);
    for (uint64_t deadline = now_ms() + WAIT_MS; rc == 0 && now_ms() < deadline;) {
        rc = sw_process_write(p, "data\n", 5);
        uv_run(&f->loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(rc, SW_EIO);
    assert_int_equal(r.exit_calls, 0);
    sw_process_close(p);
    run_free(&r);
}

static void test_missing_binary(void **state)
{
    struct fixture *f = *state;
    char *const absent[] = {"/nonexistent/swarmd-test-binary", NULL};
    char *const absent_in_path[] = {"swarmd-test-no-such-command", "x", NULL};
    char *const empty[] = {NULL};
    char script[PATH_MAX + 16];
    char *const not_executable[] = {script, NULL};
    struct sw_process_options o = {.pipe_stdin = 1, .pipe_stdout = 1, .pipe_stderr = 1};
    struct sw_process *p = (struct sw_process *)&o; /* not NULL: a failure must reset it */
    struct run r;
    int fd;

    run_init(&r);
    o.argv = absent;
    assert_int_equal(sw_process_spawn(&f->loop, &o, on_exit_cb, on_read_cb, &r, &p), SW_ENOT_FOUND);
    assert_null(p);
    o.argv = absent_in_path;
    assert_int_equal(sw_process_spawn(&f->loop, &o, on_exit_cb, on_read_cb, &r, &p), SW_ENOT_FOUND);
    snprintf(script, sizeof script, "%s/script.sh", f->dir);
    fd = open(script, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#!/bin/sh\necho no\n", 18), 18);
    close(fd);
    o.argv = not_executable;
    assert_int_equal(sw_process_spawn(&f->loop, &o, on_exit_cb, on_read_cb, &r, &p), SW_ENOT_FOUND);
    o.argv = empty;
    assert_int_equal(sw_process_spawn(&f->loop, &o, on_exit_cb, on_read_cb, &r, &p), SW_EINVAL);

    /* the failed spawns release their handles; no callback is ever called */
    WAIT_FOR(f, !uv_loop_alive(&f->loop), WAIT_MS);
    assert_false(uv_loop_alive(&f->loop));
    assert_int_equal(r.exit_calls, 0);
    assert_int_equal(r.out.len + r.err.len, 0);
    assert_int_equal(r.eof_out + r.eof_err, 0);
    run_free(&r);
}

static void test_close_inside_exit_cb(void **state)
{
    struct fixture *f = *state;
    struct run r;

    run_init(&r);
    r.close_in_exit = 1;
    spawn_sh(f, &r, "echo bye");
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_string_equal(r.out.data, "bye\n");
    WAIT_FOR(f, !uv_loop_alive(&f->loop), WAIT_MS);
    assert_false(uv_loop_alive(&f->loop)); /* freed after its close callbacks */
    assert_int_equal(r.calls_after_close, 0);
    run_free(&r);
}

static void test_close_inside_read_cb(void **state)
{
    struct fixture *f = *state;
    struct run r;
    int pid;

    run_init(&r);
    r.close_in_read = 1;
    pid = sw_process_pid(spawn_sh(f, &r, "exec yes"));
    WAIT_FOR(f, r.closed, WAIT_MS);
    assert_true(r.closed);
    WAIT_FOR(f, !uv_loop_alive(&f->loop), WAIT_MS);
    assert_false(uv_loop_alive(&f->loop));
    assert_int_equal(r.calls_after_close, 0);
    assert_int_equal(r.exit_calls, 0);
    assert_int_equal(kill(pid, 0), -1); /* killed and reaped */
    assert_int_equal(errno, ESRCH);
    run_free(&r);
}

static void test_close_while_running(void **state)
{
    struct fixture *f = *state;
    struct run r;
    struct sw_process *p;
    int pid;

    run_init(&r);
    p = spawn_sh(f, &r, "echo up; sleep 100");
    pid = sw_process_pid(p);
    WAIT_FOR(f, r.out.len > 0, WAIT_MS);
    assert_true(sw_process_loop_has_pid(&f->loop, pid));
    assert_false(sw_process_loop_has_pid(&f->loop, getpid()));
    sw_process_close(p);
    r.closed = 1;
    assert_true(sw_process_loop_has_pid(&f->loop, pid)); /* until libuv reaped it */
    WAIT_FOR(f, !uv_loop_alive(&f->loop), WAIT_MS);
    assert_false(uv_loop_alive(&f->loop));
    assert_int_equal(kill(pid, 0), -1); /* killed and reaped, not a zombie */
    assert_int_equal(errno, ESRCH);
    assert_false(sw_process_loop_has_pid(&f->loop, pid));
    assert_int_equal(r.calls_after_close, 0);
    assert_int_equal(r.exit_calls, 0);
    run_free(&r);
}

static void test_env_and_cwd(void **state)
{
    struct fixture *f = *state;
    char *const argv[] = {"sh", "-c", "echo \"$FOO|$HOME|$0\"; pwd -P", NULL};
    char *const env[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", NULL};
    struct sw_process_options o = {
        .argv = argv, .env = env, .cwd = f->dir, .pipe_stdout = 1, .pipe_stderr = 1};
    char expected[PATH_MAX * 2], real[PATH_MAX];
    struct sw_process *p;
    struct run r;

    assert_non_null(realpath(f->dir, real));
    snprintf(expected, sizeof expected, "bar baz||sh\n%s\n", real);
    run_init(&r);
    assert_int_equal(sw_process_spawn(&f->loop, &o, on_exit_cb, on_read_cb, &r, &p), 0);
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, expected);
    sw_process_close(p);
    run_free(&r);
}

static void test_stdout_closed_early(void **state)
{
    struct fixture *f = *state;
    struct run r;
    struct sw_process *p;

    run_init(&r);
    p = spawn_sh(f, &r, "echo early; exec 1>&-; sleep 0.3; echo late >&2; exit 3");
    WAIT_FOR(f, r.eof_out, WAIT_MS);
    assert_true(r.eof_out);
    assert_int_equal(r.exit_calls, 0); /* still running */
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(r.status, 3);
    assert_true(r.eofs_at_exit);
    assert_string_equal(r.out.data, "early\n");
    assert_string_equal(r.err.data, "late\n");
    sw_process_close(p);
    run_free(&r);
}

static void test_exit_before_eof(void **state)
{
    struct fixture *f = *state;
    struct run r;
    struct sw_process *p;

    /* the child exits first; a subshell keeps stdout open, writes, then ends it */
    run_init(&r);
    p = spawn_sh(f, &r, "echo a; (sleep 0.3; echo b; echo c >&2) & exit 4");
    WAIT_FOR(f, sw_process_exited(p), WAIT_MS);
    assert_true(sw_process_exited(p));
    assert_int_equal(r.exit_calls, 0); /* waits for the output to end */
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(r.status, 4);
    assert_true(r.eofs_at_exit);
    assert_string_equal(r.out.data, "a\nb\n");
    assert_string_equal(r.err.data, "c\n");
    sw_process_close(p);
    run_free(&r);
}

static void test_exit_with_buffered_output(void **state)
{
    struct fixture *f = *state;
    struct run r;
    struct sw_process *p;
    siginfo_t info;

    /* the loop does not run until the child has exited with its output unread */
    run_init(&r);
    p = spawn_sh(f, &r, "head -c 150000 /dev/zero; head -c 20000 /dev/zero >&2; exit 5");
    memset(&info, 0, sizeof info);
    assert_int_equal(waitid(P_PID, (id_t)sw_process_pid(p), &info, WEXITED | WNOWAIT), 0);
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(r.status, 5);
    assert_true(r.eofs_at_exit);
    assert_int_equal(r.out.len, 150000);
    assert_int_equal(r.err.len, 20000);
    sw_process_close(p);
    run_free(&r);
}

static void test_grandchild_holds_pipe(void **state)
{
    struct fixture *f = *state;
    struct run r;
    struct sw_process *p;
    uint64_t started = now_ms();
    int grandchild;

    run_init(&r);
    p = spawn_sh(f, &r, "sleep 100 & echo $!");
    sw_process_set_drain_ms(p, 200);
    WAIT_FOR(f, r.exit_calls, WAIT_MS);
    assert_int_equal(r.exit_calls, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.eofs_at_exit); /* ended by the drain timeout */
    assert_true(now_ms() - started < 5000);
    grandchild = parse_pid(&r.out);
    assert_true(grandchild > 0);
    sw_process_close(p);
    kill(grandchild, SIGKILL);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_output_before_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_grace_kills_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_term_then_kill_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_through_cat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_queue_ceiling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_after_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_inside_exit_cb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_inside_read_cb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_and_cwd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdout_closed_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_before_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_with_buffered_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grandchild_holds_pipe, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN); /* as the daemon does */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
