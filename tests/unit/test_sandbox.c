/* SPDX-License-Identifier: MIT
 * test_sandbox.c - unit tests of the sandbox command lines (src/runtime/sandbox.c)
 * and the cgroup helper (src/runtime/cgroup.c): preset names, the exact argv of each
 * preset with and without limits, the shell argv, bad arguments, a missing bwrap or
 * prlimit (SW_ENOT_FOUND); cgroup v2 reported unavailable on a machine without it
 * (and nothing written there), and the files a v2 apply writes, checked on a plain
 * directory standing in for the cgroup root. Where bwrap can run, a paranoid child
 * is shown unable to reach a TCP listener on 127.0.0.1 or to write outside its work
 * dir, while it writes inside it and to a private /tmp; elsewhere that test is
 * skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "runtime/process.h"
#include "runtime/sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include "testutil.h"

#define WAIT_MS 20000

struct fixture {
    char dir[256]; /* under the current directory: /tmp is private in a sandbox */
    char bwrap[300], prlimit[300];
};

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char *read_file(const char *path)
{
    static char text[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY);

    if (fd < 0)
        return "<missing>";
    n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n < 0 ? 0 : n] = '\0';
    return text;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char cwd[200];

    assert_non_null(f);
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(f->dir, sizeof f->dir, "%s/test_sandbox.XXXXXX", cwd);
    assert_non_null(mkdtemp(f->dir));
    /* stand-in tools: only their existence matters to the argv builder */
    snprintf(f->bwrap, sizeof f->bwrap, "%s/bwrap", f->dir);
    snprintf(f->prlimit, sizeof f->prlimit, "%s/prlimit", f->dir);
    write_file(f->bwrap, "#!/bin/sh\n", 0755);
    write_file(f->prlimit, "#!/bin/sh\n", 0755);
    assert_int_equal(sw_sandbox_set_tools(f->bwrap, f->prlimit), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    sw_sandbox_set_tools(NULL, NULL);
    sw_cgroup_set_root(NULL, 1);
    remove_tree(f->dir);
    free(f);
    return 0;
}

/* Compares a built argv with the expected words; "BWRAP" and "PRLIMIT" stand for the
 * fixture's tool paths. */
static void assert_argv(struct fixture *f, char **argv, const char *const *expected)
{
    size_t i;

    assert_non_null(argv);
    for (i = 0; expected[i]; i++) {
        const char *want = expected[i];
        if (strcmp(want, "BWRAP") == 0)
            want = f->bwrap;
        else if (strcmp(want, "PRLIMIT") == 0)
            want = f->prlimit;
        assert_non_null(argv[i]);
        assert_string_equal(argv[i], want);
    }
    assert_null(argv[i]);
}

static char *const command[] = {"agent", "--flag", "two words", NULL};

static void test_parse(void **state)
{
    enum sw_sandbox preset = SW_SANDBOX_PARANOID;

    assert_int_equal(sw_sandbox_parse("none", &preset), 0);
    assert_int_equal(preset, SW_SANDBOX_NONE);
    assert_int_equal(sw_sandbox_parse("development", &preset), 0);
    assert_int_equal(preset, SW_SANDBOX_DEVELOPMENT);
    assert_int_equal(sw_sandbox_parse("paranoid", &preset), 0);
    assert_int_equal(preset, SW_SANDBOX_PARANOID);
    assert_int_equal(sw_sandbox_parse("Paranoid", &preset), SW_EINVAL);
    assert_int_equal(sw_sandbox_parse("", &preset), SW_EINVAL);
    assert_int_equal(sw_sandbox_parse(NULL, &preset), SW_EINVAL);
    assert_int_equal(preset, SW_SANDBOX_PARANOID);
    assert_string_equal(sw_sandbox_name(SW_SANDBOX_NONE), "none");
    assert_string_equal(sw_sandbox_name(SW_SANDBOX_DEVELOPMENT), "development");
    assert_string_equal(sw_sandbox_name(SW_SANDBOX_PARANOID), "paranoid");
}

static void test_argv_none(void **state)
{
    struct fixture *f = *state;
    const struct sw_limits all = {
        .memory_bytes = 1073741824, .cpu = 1.5, .open_files = 1024, .processes = 64};
    const struct sw_limits memory_only = {.memory_bytes = 536870912};
    const struct sw_limits cpu_only = {.cpu = 2};
    char **argv;

    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, NULL, NULL, command, &argv), 0);
    assert_argv(f, argv, (const char *[]){"agent", "--flag", "two words", NULL});
    assert_true(argv != (char **)command); /* a copy */
    sw_argv_free(argv);

    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, &all, "/srv/work", command, &argv), 0);
    assert_argv(f, argv,
                (const char *[]){"PRLIMIT", "--as=1073741824", "--nofile=1024:1024",
                                 "--nproc=64:64", "--", "agent", "--flag", "two words", NULL});
    sw_argv_free(argv);

    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, &memory_only, NULL, command, &argv), 0);
    assert_argv(
        f, argv,
        (const char *[]){"PRLIMIT", "--as=536870912", "--", "agent", "--flag", "two words", NULL});
    sw_argv_free(argv);

    /* cpu is a cgroup limit only */
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, &cpu_only, NULL, command, &argv), 0);
    assert_argv(f, argv, (const char *[]){"agent", "--flag", "two words", NULL});
    sw_argv_free(argv);
    sw_argv_free(NULL);
}

static void test_argv_paranoid(void **state)
{
    struct fixture *f = *state;
    const struct sw_limits limits = {.memory_bytes = 2147483648LL, .open_files = 256};
    char **argv;

    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_PARANOID, NULL, "/srv/agents/a1", command, &argv),
                     0);
    assert_argv(f, argv,
                (const char *[]){"BWRAP",
                                 "--unshare-all",
                                 "--die-with-parent",
                                 "--ro-bind",
                                 "/",
                                 "/",
                                 "--dev",
                                 "/dev",
                                 "--proc",
                                 "/proc",
                                 "--tmpfs",
                                 "/tmp",
                                 "--bind",
                                 "/srv/agents/a1",
                                 "/srv/agents/a1",
                                 "--chdir",
                                 "/srv/agents/a1",
                                 "--cap-drop",
                                 "ALL",
                                 "--",
                                 "agent",
                                 "--flag",
                                 "two words",
                                 NULL});
    sw_argv_free(argv);

    assert_int_equal(
        sw_sandbox_argv(SW_SANDBOX_PARANOID, &limits, "/srv/agents/a1", command, &argv), 0);
    assert_argv(f, argv,
                (const char *[]){"BWRAP",
                                 "--unshare-all",
                                 "--die-with-parent",
                                 "--ro-bind",
                                 "/",
                                 "/",
                                 "--dev",
                                 "/dev",
                                 "--proc",
                                 "/proc",
                                 "--tmpfs",
                                 "/tmp",
                                 "--bind",
                                 "/srv/agents/a1",
                                 "/srv/agents/a1",
                                 "--chdir",
                                 "/srv/agents/a1",
                                 "--cap-drop",
                                 "ALL",
                                 "--",
                                 "PRLIMIT",
                                 "--as=2147483648",
                                 "--nofile=256:256",
                                 "--",
                                 "agent",
                                 "--flag",
                                 "two words",
                                 NULL});
    sw_argv_free(argv);
}

static void test_argv_development(void **state)
{
    struct fixture *f = *state;
    const struct sw_limits limits = {.processes = 100, .cpu = 0.5};
    char **argv;

    assert_int_equal(
        sw_sandbox_argv(SW_SANDBOX_DEVELOPMENT, &limits, "/home/me/project", command, &argv), 0);
    assert_argv(f, argv,
                (const char *[]){"BWRAP",
                                 "--die-with-parent",
                                 "--ro-bind",
                                 "/",
                                 "/",
                                 "--dev",
                                 "/dev",
                                 "--proc",
                                 "/proc",
                                 "--tmpfs",
                                 "/tmp",
                                 "--bind",
                                 "/home/me/project",
                                 "/home/me/project",
                                 "--chdir",
                                 "/home/me/project",
                                 "--",
                                 "PRLIMIT",
                                 "--nproc=100:100",
                                 "--",
                                 "agent",
                                 "--flag",
                                 "two words",
                                 NULL});
    for (size_t i = 0; argv[i]; i++)
        assert_null(strstr(argv[i], "unshare")); /* the network is shared */
    sw_argv_free(argv);
}

static void test_argv_invalid(void **state)
{
    const struct sw_limits negative = {.memory_bytes = -1};
    const struct sw_limits negative_cpu = {.cpu = -0.5};
    char *const empty[] = {NULL};
    char **argv = (char **)command;

    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_PARANOID, NULL, NULL, command, &argv), SW_EINVAL);
    assert_null(argv);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_PARANOID, NULL, "work", command, &argv), SW_EINVAL);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_DEVELOPMENT, NULL, "/", command, &argv), SW_EINVAL);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, NULL, NULL, NULL, &argv), SW_EINVAL);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, NULL, NULL, empty, &argv), SW_EINVAL);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, &negative, NULL, command, &argv), SW_EINVAL);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, &negative_cpu, NULL, command, &argv),
                     SW_EINVAL);
    assert_int_equal(sw_sandbox_argv((enum sw_sandbox)7, NULL, "/w", command, &argv), SW_EINVAL);
}

static void test_shell_argv(void **state)
{
    struct fixture *f = *state;
    char **argv;

    assert_int_equal(sw_argv_from_shell("echo hi && exit 3", &argv), 0);
    assert_argv(f, argv, (const char *[]){"/bin/sh", "-c", "echo hi && exit 3", NULL});
    sw_argv_free(argv);
    assert_int_equal(sw_argv_from_shell("", &argv), 0);
    assert_argv(f, argv, (const char *[]){"/bin/sh", "-c", "", NULL});
    sw_argv_free(argv);
    assert_int_equal(sw_argv_from_shell(NULL, &argv), SW_EINVAL);
    assert_null(argv);
}

static void test_missing_tools(void **state)
{
    struct fixture *f = *state;
    const struct sw_limits limits = {.open_files = 100};
    char not_executable[300];
    char **argv;

    assert_int_equal(sw_sandbox_set_tools("/nonexistent/bwrap", f->prlimit), 0);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_PARANOID, NULL, "/w", command, &argv),
                     SW_ENOT_FOUND);
    assert_null(argv);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_DEVELOPMENT, &limits, "/w", command, &argv),
                     SW_ENOT_FOUND);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, &limits, NULL, command, &argv), 0);
    assert_argv(f, argv,
                (const char *[]){"PRLIMIT", "--nofile=100:100", "--", "agent", "--flag",
                                 "two words", NULL});
    sw_argv_free(argv);

    /* a file that is there but not executable counts as missing */
    snprintf(not_executable, sizeof not_executable, "%s/plain", f->dir);
    write_file(not_executable, "#!/bin/sh\n", 0644);
    assert_int_equal(sw_sandbox_set_tools(f->bwrap, not_executable), 0);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, &limits, NULL, command, &argv),
                     SW_ENOT_FOUND);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_PARANOID, NULL, "/w", command, &argv), 0);
    sw_argv_free(argv);

    /* back to the PATH lookup */
    assert_int_equal(sw_sandbox_set_tools(NULL, NULL), 0);
    if (access("/usr/bin/bwrap", X_OK) == 0) {
        assert_int_equal(sw_sandbox_argv(SW_SANDBOX_PARANOID, NULL, "/w", command, &argv), 0);
        assert_non_null(strstr(argv[0], "/bwrap"));
        sw_argv_free(argv);
    }
}

static int is_cgroup2(const char *path)
{
    struct statfs st;

    return statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

static void test_cgroup_unavailable(void **state)
{
    const struct sw_limits limits = {.memory_bytes = 1 << 30, .cpu = 1.5};
    char why[256];
    struct stat st;
    int existed = stat("/sys/fs/cgroup/swarmd", &st) == 0;

    assert_int_equal(sw_cgroup_apply("..", getpid(), &limits), SW_EINVAL);
    assert_int_equal(sw_cgroup_apply("a/b", getpid(), &limits), SW_EINVAL);
    assert_int_equal(sw_cgroup_apply("", getpid(), &limits), SW_EINVAL);
    assert_int_equal(sw_cgroup_apply("ok", 0, &limits), SW_EINVAL);
    if (is_cgroup2("/sys/fs/cgroup")) {
        print_message("/sys/fs/cgroup is cgroup2 here: the v1 path is not checked\n");
        return;
    }
    why[0] = 'x';
    assert_int_equal(sw_cgroup_available(why, sizeof why), 0);
    assert_non_null(strstr(why, "cgroup v1 only on this machine"));
    assert_int_equal(sw_cgroup_available(NULL, 0), 0);
    assert_int_equal(sw_cgroup_apply("test-agent", getpid(), &limits), SW_EIO);
    assert_int_equal(stat("/sys/fs/cgroup/swarmd", &st) == 0, existed); /* nothing made */
    assert_int_equal(sw_cgroup_remove("test-agent"), 0);
}

static void test_cgroup_v2_files(void **state)
{
    struct fixture *f = *state;
    const struct sw_limits limits = {.memory_bytes = 536870912, .cpu = 1.5};
    const struct sw_limits unset = {0};
    const struct sw_limits tiny = {.cpu = 0.001};
    char root[300], path[400], why[256], pid[32];

    snprintf(root, sizeof root, "%s/cgroup", f->dir);
    assert_int_equal(mkdir(root, 0755), 0);
    snprintf(path, sizeof path, "%s/cgroup.controllers", root);
    write_file(path, "cpuset io memory pids\n", 0644);
    sw_cgroup_set_root(root, 1);
    assert_int_equal(sw_cgroup_available(why, sizeof why), 0);
    assert_non_null(strstr(why, "not a cgroup2 mount"));

    sw_cgroup_set_root(root, 0);
    assert_int_equal(sw_cgroup_available(why, sizeof why), 0);
    assert_non_null(strstr(why, "cpu and memory"));
    write_file(path, "cpuset cpu io memory hugetlb pids rdma\n", 0644);
    assert_int_equal(sw_cgroup_available(why, sizeof why), 1);
    assert_string_equal(why, "");

    snprintf(pid, sizeof pid, "%d", (int)getpid());
    assert_int_equal(sw_cgroup_apply("agent-1.a_b", getpid(), &limits), 0);
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", root);
    assert_string_equal(read_file(path), "+cpu +memory");
    snprintf(path, sizeof path, "%s/swarmd/cgroup.subtree_control", root);
    assert_string_equal(read_file(path), "+cpu +memory");
    snprintf(path, sizeof path, "%s/swarmd/agent-1.a_b/memory.max", root);
    assert_string_equal(read_file(path), "536870912");
    snprintf(path, sizeof path, "%s/swarmd/agent-1.a_b/cpu.max", root);
    assert_string_equal(read_file(path), "150000 100000");
    snprintf(path, sizeof path, "%s/swarmd/agent-1.a_b/cgroup.procs", root);
    assert_string_equal(read_file(path), pid);

    assert_int_equal(sw_cgroup_apply("agent-2", getpid(), &unset), 0);
    snprintf(path, sizeof path, "%s/swarmd/agent-2/memory.max", root);
    assert_string_equal(read_file(path), "max");
    snprintf(path, sizeof path, "%s/swarmd/agent-2/cpu.max", root);
    assert_string_equal(read_file(path), "max 100000");
    assert_int_equal(sw_cgroup_apply("agent-2", getpid(), &tiny), 0); /* again: fine */
    assert_string_equal(read_file(path), "1000 100000");

    /* a real cgroup directory holds only kernel files; a plain one must be emptied */
    assert_int_equal(sw_cgroup_remove("agent-2"), SW_EIO);
    snprintf(path, sizeof path, "%s/swarmd/agent-2", root);
    remove_tree(path);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(sw_cgroup_remove("agent-2"), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(sw_cgroup_remove("agent-2"), 0);
    assert_int_equal(sw_cgroup_remove("../x"), SW_EINVAL);
}

/* Runs argv through sw_process to its exit; returns the exit status, output in out. */
struct sandbox_run {
    struct sw_buf out;
    int done;
    int64_t status;
};

static void run_exit_cb(struct sw_process *p, int64_t status, int term_signal)
{
    struct sandbox_run *r = sw_process_data(p);

    r->done = 1;
    r->status = status;
}

static void run_read_cb(struct sw_process *p, int stream, const char *data, size_t len)
{
    struct sandbox_run *r = sw_process_data(p);

    if (len > 0)
        sw_buf_append(&r->out, data, len);
}

static int64_t run_to_exit(char **argv, struct sw_buf *out)
{
    struct sw_process_options o = {.argv = argv, .pipe_stdout = 1, .pipe_stderr = 1};
    struct sandbox_run r = {.status = -2};
    struct sw_process *p;
    uv_loop_t loop;
    uint64_t deadline = uv_hrtime() / 1000000 + WAIT_MS;

    sw_buf_init(&r.out, 1 << 20);
    assert_int_equal(uv_loop_init(&loop), 0);
    if (sw_process_spawn(&loop, &o, run_exit_cb, run_read_cb, &r, &p) == 0) {
        while (!r.done && uv_hrtime() / 1000000 < deadline)
            uv_run(&loop, UV_RUN_ONCE);
        sw_process_close(p);
    }
    while (uv_loop_alive(&loop) && uv_hrtime() / 1000000 < deadline)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(uv_loop_close(&loop), 0);
    *out = r.out;
    return r.status;
}

/* 1 if bwrap is installed and can set up a sandbox here. */
static int bwrap_works(void)
{
    char *const argv[] = {"/usr/bin/bwrap", "--ro-bind", "/", "/", "true", NULL};
    struct sw_buf out;
    int64_t status;

    if (access("/usr/bin/bwrap", X_OK) != 0 || access("/bin/bash", X_OK) != 0)
        return 0;
    status = run_to_exit((char **)argv, &out);
    sw_buf_free(&out);
    return status == 0;
}

static int listen_local(int *port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

static void test_paranoid_integration(void **state)
{
    struct fixture *f = *state;
    char work[300], outside[300], script[2048], probe[64], path[400];
    char *const shell[] = {"/bin/bash", "-c", script, NULL};
    struct sw_buf out;
    char **argv;
    int listener, port;

    if (!bwrap_works()) {
        print_message("bwrap cannot run here: sandbox integration skipped\n");
        skip();
    }
    assert_int_equal(sw_sandbox_set_tools("/usr/bin/bwrap", "/usr/bin/prlimit"), 0);
    snprintf(work, sizeof work, "%s/work", f->dir);
    snprintf(outside, sizeof outside, "%s/outside", f->dir);
    assert_int_equal(mkdir(work, 0755), 0);
    assert_int_equal(mkdir(outside, 0755), 0);
    snprintf(probe, sizeof probe, "/tmp/swarmd-sandbox-probe.%d", (int)getpid());
    listener = listen_local(&port);
    snprintf(script, sizeof script,
             "exec 3<>/dev/tcp/127.0.0.1/%d && echo net-ok; "
             "echo in > %s/in.txt && echo in-ok; "
             "echo out > %s/out.txt && echo out-ok; "
             "echo tmp > %s && echo tmp-ok; "
             "echo \"cwd=$(pwd)\"",
             port, work, outside, probe);

    /* unsandboxed, the same script reaches everything: the checks below mean something */
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, NULL, NULL, shell, &argv), 0);
    assert_int_equal(run_to_exit(argv, &out), 0);
    sw_argv_free(argv);
    assert_non_null(strstr(out.data, "net-ok"));
    assert_non_null(strstr(out.data, "out-ok"));
    sw_buf_free(&out);
    snprintf(path, sizeof path, "%s/out.txt", outside);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(unlink(probe), 0);

    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_PARANOID, NULL, work, shell, &argv), 0);
    run_to_exit(argv, &out);
    sw_argv_free(argv);
    assert_null(strstr(out.data, "net-ok"));     /* no network */
    assert_non_null(strstr(out.data, "in-ok"));  /* the work dir is writable */
    assert_null(strstr(out.data, "out-ok"));     /* the rest is read-only */
    assert_non_null(strstr(out.data, "tmp-ok")); /* a private /tmp */
    snprintf(path, sizeof path, "cwd=%s\n", work);
    assert_non_null(strstr(out.data, path));
    sw_buf_free(&out);
    snprintf(path, sizeof path, "%s/in.txt", work);
    assert_string_equal(read_file(path), "in\n");
    snprintf(path, sizeof path, "%s/out.txt", outside);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(probe, F_OK), -1);
    close(listener);
}

static void test_limits_integration(void **state)
{
    const struct sw_limits limits = {.open_files = 77, .memory_bytes = 1LL << 32};
    char *const shell[] = {"/bin/sh", "-c", "ulimit -n; ulimit -v", NULL};
    struct sw_buf out;
    char **argv;

    if (access("/usr/bin/prlimit", X_OK) != 0) {
        print_message("prlimit is not installed: limits integration skipped\n");
        skip();
    }
    assert_int_equal(sw_sandbox_set_tools("/usr/bin/bwrap", "/usr/bin/prlimit"), 0);
    assert_int_equal(sw_sandbox_argv(SW_SANDBOX_NONE, &limits, NULL, shell, &argv), 0);
    assert_int_equal(run_to_exit(argv, &out), 0);
    sw_argv_free(argv);
    assert_string_equal(out.data, "77\n4194304\n");
    sw_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argv_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argv_paranoid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argv_development, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argv_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_argv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_tools, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cgroup_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cgroup_v2_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paranoid_integration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_integration, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
