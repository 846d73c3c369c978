/* SPDX-License-Identifier: MIT
 * test_config.c - unit tests of the table-driven configuration (src/core/config.c)
 * on a small table holding one entry of every type: defaults, sw_config_set, the
 * environment, command-line flags (--key value, --key=value, a bare bool flag, the
 * errors that name the flag, the key or the enum's choices, and *next at the first
 * operand), a "key = value" file with comments, quotes and a bad line reported by
 * its number, the precedence the daemon uses (file < env < flags), and the --help
 * and reference texts. Each test runs in its own temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct opts {
    char *name;
    char *path;
    int64_t count;
    int64_t wait_ms;
    int64_t limit;
    int verbose;
    int mode;
    int64_t signed_value;
};

#define OFF(field) offsetof(struct opts, field)

static const struct sw_config_entry table[] = {
    {"name", "SWTEST_NAME", SW_CONFIG_STRING, "anon", OFF(name), NULL, 0, 0, "the name"},
    {"path", NULL, SW_CONFIG_STRING, NULL, OFF(path), NULL, 0, 0, "a path without default"},
    {"count", "SWTEST_COUNT", SW_CONFIG_INT, "3", OFF(count), NULL, 1, 100, "how many"},
    {"wait", "SWTEST_WAIT", SW_CONFIG_DURATION, "30s", OFF(wait_ms), NULL, 10, 3600000,
     "how long to wait"},
    {"limit", "SWTEST_LIMIT", SW_CONFIG_SIZE, "1MiB", OFF(limit), NULL, 16, 1LL << 30,
     "largest body"},
    {"verbose", "SWTEST_VERBOSE", SW_CONFIG_BOOL, "false", OFF(verbose), NULL, 0, 0, "talk more"},
    {"mode", "SWTEST_MODE", SW_CONFIG_ENUM, "normal", OFF(mode), "full|normal|off", 0, 0,
     "sync mode"},
    {"signed", NULL, SW_CONFIG_INT, "0", OFF(signed_value), NULL, -50, 50, "may be negative"},
    {NULL, NULL, 0, NULL, 0, NULL, 0, 0, NULL},
};

static const char *const env_names[] = {"SWTEST_NAME",  "SWTEST_COUNT",   "SWTEST_WAIT",
                                        "SWTEST_LIMIT", "SWTEST_VERBOSE", "SWTEST_MODE"};

struct fixture {
    char dir[256];
    struct opts o;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/swtest-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[300];
    sw_config_free(table, &f->o);
    snprintf(path, sizeof path, "%s/swarmd.conf", f->dir);
    unlink(path);
    rmdir(f->dir);
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
    free(f);
    return 0;
}

/* Writes text into <dir>/swarmd.conf; returns its path (static). */
static const char *write_file(struct fixture *f, const char *text)
{
    static char path[300];
    snprintf(path, sizeof path, "%s/swarmd.conf", f->dir);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    return path;
}

static int load_args(struct opts *o, const char **words, int *next)
{
    char *argv[32] = {"swarmd"};
    int argc = 1;
    while (*words)
        argv[argc++] = (char *)*words++;
    return sw_config_load_args(table, o, argc, argv, next);
}

static void assert_error_has(const char *part)
{
    if (strstr(sw_config_error(), part) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", sw_config_error(), part);
}

static void test_defaults(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    assert_string_equal(f->o.name, "anon");
    assert_null(f->o.path); /* no default: left alone */
    assert_int_equal(f->o.count, 3);
    assert_int_equal(f->o.wait_ms, 30000);
    assert_int_equal(f->o.limit, 1 << 20);
    assert_int_equal(f->o.verbose, 0);
    assert_int_equal(f->o.mode, 1);
    assert_int_equal(f->o.signed_value, 0);
}

static void test_bad_default_names_key(void **state)
{
    static const struct sw_config_entry broken[] = {
        {"port", NULL, SW_CONFIG_INT, "0", 0, NULL, 1, 65535, "port"},
        {NULL, NULL, 0, NULL, 0, NULL, 0, 0, NULL},
    };
    int64_t port = 0;

    assert_int_equal(sw_config_defaults(broken, &port), SW_ECONFIG);
    assert_error_has("port");
    assert_error_has("default");
}

static void test_set(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    assert_int_equal(sw_config_set(table, &f->o, "name", "bob", "test"), 0);
    assert_string_equal(f->o.name, "bob");
    assert_int_equal(sw_config_set(table, &f->o, "name", "carol", "test"), 0); /* frees bob */
    assert_string_equal(f->o.name, "carol");
    assert_int_equal(sw_config_set(table, &f->o, "count", "100", "test"), 0);
    assert_int_equal(f->o.count, 100);
    assert_int_equal(sw_config_set(table, &f->o, "wait", "1m30s", "test"), 0);
    assert_int_equal(f->o.wait_ms, 90000);
    assert_int_equal(sw_config_set(table, &f->o, "limit", "512KiB", "test"), 0);
    assert_int_equal(f->o.limit, 512 * 1024);
    assert_int_equal(sw_config_set(table, &f->o, "mode", "off", "test"), 0);
    assert_int_equal(f->o.mode, 2);
    assert_int_equal(sw_config_set(table, &f->o, "signed", "-50", "test"), 0);
    assert_int_equal(f->o.signed_value, -50);
    assert_int_equal(sw_config_set(table, &f->o, "path", "", "test"), 0);
    assert_string_equal(f->o.path, "");

    assert_int_equal(sw_config_set(table, &f->o, "colour", "red", "test"), SW_ENOT_FOUND);
    assert_error_has("unknown option colour");
    assert_int_equal(sw_config_set(table, &f->o, "coun", "1", "test"), SW_ENOT_FOUND);
    assert_int_equal(sw_config_set(table, &f->o, "counts", "1", "test"), SW_ENOT_FOUND);
}

static void test_bool_values(void **state)
{
    static const char *const truths[] = {"1", "true", "yes", "on"};
    static const char *const lies[] = {"0", "false", "no", "off"};
    struct fixture *f = *state;

    for (int i = 0; i < 4; i++) {
        assert_int_equal(sw_config_set(table, &f->o, "verbose", truths[i], "t"), 0);
        assert_int_equal(f->o.verbose, 1);
        assert_int_equal(sw_config_set(table, &f->o, "verbose", lies[i], "t"), 0);
        assert_int_equal(f->o.verbose, 0);
    }
    assert_int_equal(sw_config_set(table, &f->o, "verbose", "maybe", "t"), SW_ECONFIG);
    assert_error_has("verbose");
    assert_error_has("maybe");
    assert_int_equal(sw_config_set(table, &f->o, "verbose", "", "t"), SW_ECONFIG);
}

static void test_value_errors_name_key(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    assert_int_equal(sw_config_set(table, &f->o, "count", "12abc", "here"), SW_ECONFIG);
    assert_string_equal(sw_config_error(),
                        "here: bad value \"12abc\" for count: expected an integer");
    assert_int_equal(sw_config_set(table, &f->o, "count", "", "here"), SW_ECONFIG);
    assert_int_equal(sw_config_set(table, &f->o, "count", "99999999999999999999", "here"),
                     SW_ECONFIG);
    assert_int_equal(sw_config_set(table, &f->o, "count", "0", "here"), SW_ECONFIG);
    assert_error_has("out of range [1, 100]");
    assert_int_equal(sw_config_set(table, &f->o, "count", "101", "here"), SW_ECONFIG);
    assert_int_equal(sw_config_set(table, &f->o, "signed", "-51", "here"), SW_ECONFIG);
    assert_error_has("out of range [-50, 50]");
    assert_int_equal(sw_config_set(table, &f->o, "wait", "5ms", "here"), SW_ECONFIG);
    assert_error_has("wait");
    assert_int_equal(sw_config_set(table, &f->o, "wait", "2h", "here"), SW_ECONFIG);
    assert_int_equal(sw_config_set(table, &f->o, "wait", "soon", "here"), SW_ECONFIG);
    assert_error_has("expected a duration");
    assert_int_equal(sw_config_set(table, &f->o, "limit", "8", "here"), SW_ECONFIG);
    assert_int_equal(sw_config_set(table, &f->o, "limit", "2GiB", "here"), SW_ECONFIG);
    assert_int_equal(sw_config_set(table, &f->o, "limit", "lots", "here"), SW_ECONFIG);
    assert_error_has("expected a size");
    assert_int_equal(sw_config_set(table, &f->o, "mode", "fast", "here"), SW_ECONFIG);
    assert_string_equal(sw_config_error(),
                        "here: bad value \"fast\" for mode: expected one of full|normal|off");
    assert_int_equal(sw_config_set(table, &f->o, "mode", "ful", "here"), SW_ECONFIG);
    assert_int_equal(sw_config_set(table, &f->o, "mode", "full|normal", "here"), SW_ECONFIG);
    /* failed sets left the values alone */
    assert_int_equal(f->o.count, 3);
    assert_int_equal(f->o.signed_value, 0);
    assert_int_equal(f->o.wait_ms, 30000);
    assert_int_equal(f->o.limit, 1 << 20);
    assert_int_equal(f->o.mode, 1);
}

static void test_env(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    setenv("SWTEST_NAME", "from-env", 1);
    setenv("SWTEST_WAIT", "2s", 1);
    setenv("SWTEST_VERBOSE", "yes", 1);
    assert_int_equal(sw_config_load_env(table, &f->o), 0);
    assert_string_equal(f->o.name, "from-env");
    assert_int_equal(f->o.wait_ms, 2000);
    assert_int_equal(f->o.verbose, 1);
    assert_int_equal(f->o.count, 3); /* unset variables change nothing */

    setenv("SWTEST_MODE", "turbo", 1);
    assert_int_equal(sw_config_load_env(table, &f->o), SW_ECONFIG);
    assert_error_has("SWTEST_MODE");
    assert_error_has("turbo");
    assert_error_has("full|normal|off");
}

static void test_args_forms(void **state)
{
    struct fixture *f = *state;
    const char *words[] = {"--name", "x y",     "--count=7", "--verbose",   "--wait=1h", "--mode",
                           "full",   "--limit", "64",        "--signed=-3", NULL};
    int next = -1;

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    assert_int_equal(load_args(&f->o, words, &next), 0);
    assert_int_equal(next, 11);
    assert_string_equal(f->o.name, "x y");
    assert_int_equal(f->o.count, 7);
    assert_int_equal(f->o.verbose, 1);
    assert_int_equal(f->o.wait_ms, 3600000);
    assert_int_equal(f->o.mode, 0);
    assert_int_equal(f->o.limit, 64);
    assert_int_equal(f->o.signed_value, -3);
}

static void test_args_bool_explicit(void **state)
{
    struct fixture *f = *state;
    const char *on[] = {"--verbose", NULL};
    const char *off[] = {"--verbose=false", NULL};
    const char *empty_name[] = {"--name=", NULL};
    int next;

    assert_int_equal(load_args(&f->o, on, &next), 0);
    assert_int_equal(f->o.verbose, 1);
    assert_int_equal(load_args(&f->o, off, &next), 0);
    assert_int_equal(f->o.verbose, 0);
    assert_int_equal(load_args(&f->o, empty_name, &next), 0);
    assert_string_equal(f->o.name, "");
}

static void test_args_stop_at_operand(void **state)
{
    struct fixture *f = *state;
    const char *operand[] = {"--count", "5", "run", "--count", "9", NULL};
    const char *bool_then_word[] = {"--verbose", "false", NULL};
    const char *dashdash[] = {"--count=4", "--", "--count=8", NULL};
    const char *single_dash[] = {"-v", NULL};
    const char *none[] = {NULL};
    int next = -1;

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    assert_int_equal(load_args(&f->o, operand, &next), 0);
    assert_int_equal(next, 3);
    assert_int_equal(f->o.count, 5);
    /* a bare bool flag takes no value: the next word is an operand */
    assert_int_equal(load_args(&f->o, bool_then_word, &next), 0);
    assert_int_equal(f->o.verbose, 1);
    assert_int_equal(next, 2);
    assert_int_equal(load_args(&f->o, dashdash, &next), 0);
    assert_int_equal(f->o.count, 4);
    assert_int_equal(next, 2);
    assert_int_equal(load_args(&f->o, single_dash, &next), 0);
    assert_int_equal(next, 1);
    assert_int_equal(load_args(&f->o, none, &next), 0);
    assert_int_equal(next, 1);
    assert_int_equal(load_args(&f->o, operand, NULL), 0); /* next is optional */
}

static void test_args_errors(void **state)
{
    struct fixture *f = *state;
    const char *unknown[] = {"--count", "2", "--colour=red", NULL};
    const char *unknown_bare[] = {"--nope", NULL};
    const char *missing[] = {"--name", NULL};
    const char *range[] = {"--count", "1000", NULL};
    const char *bad_enum[] = {"--mode=fast", NULL};
    const char *bad_bool[] = {"--verbose=sometimes", NULL};
    int next = -1;

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    assert_int_equal(load_args(&f->o, unknown, &next), SW_ECONFIG);
    assert_string_equal(sw_config_error(), "unknown option --colour");
    assert_int_equal(next, -1); /* not set on error */
    assert_int_equal(load_args(&f->o, unknown_bare, &next), SW_ECONFIG);
    assert_string_equal(sw_config_error(), "unknown option --nope");
    assert_int_equal(load_args(&f->o, missing, &next), SW_ECONFIG);
    assert_string_equal(sw_config_error(), "option --name needs a value");
    assert_int_equal(load_args(&f->o, range, &next), SW_ECONFIG);
    assert_string_equal(sw_config_error(),
                        "--count: bad value \"1000\" for count: out of range [1, 100]");
    assert_int_equal(load_args(&f->o, bad_enum, &next), SW_ECONFIG);
    assert_error_has("--mode");
    assert_error_has("fast");
    assert_error_has("expected one of full|normal|off");
    assert_int_equal(load_args(&f->o, bad_bool, &next), SW_ECONFIG);
    assert_error_has("verbose");
    assert_string_equal(f->o.name, "anon");
}

static void test_file(void **state)
{
    struct fixture *f = *state;
    const char *path = write_file(f, "# swarmd configuration\n"
                                     "\n"
                                     "   # indented comment\n"
                                     "name = \"quoted value\"\n"
                                     "count=42\n"
                                     "  wait   =   5m  \n"
                                     "path = a=b\n"
                                     "mode = \"off\"\n"
                                     "verbose = on\r\n"
                                     "limit = \"\"x\n");

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    assert_int_equal(sw_config_load_file(table, &f->o, path), SW_ECONFIG);
    /* everything before the bad last line was applied */
    assert_string_equal(f->o.name, "quoted value");
    assert_int_equal(f->o.count, 42);
    assert_int_equal(f->o.wait_ms, 300000);
    assert_string_equal(f->o.path, "a=b");
    assert_int_equal(f->o.mode, 2);
    assert_int_equal(f->o.verbose, 1);
    assert_error_has(":10: bad value");
    assert_error_has("limit");

    path = write_file(f, "name = ok\n\"empty\" = \"\"\n");
    assert_int_equal(sw_config_load_file(table, &f->o, path), SW_ECONFIG);
    assert_error_has(":2: unknown option \"empty\"");

    path = write_file(f, "name = \"\"\n");
    assert_int_equal(sw_config_load_file(table, &f->o, path), 0);
    assert_string_equal(f->o.name, "");
}

static void test_file_errors_give_line(void **state)
{
    struct fixture *f = *state;
    const char *path = write_file(f, "# comment\n"
                                     "count = 5\n"
                                     "\n"
                                     "this line has no equals sign\n"
                                     "count = 6\n");
    char want[400];

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    assert_int_equal(sw_config_load_file(table, &f->o, path), SW_ECONFIG);
    snprintf(want, sizeof want, "%s:4: expected key = value", path);
    assert_string_equal(sw_config_error(), want);
    assert_int_equal(f->o.count, 5); /* stopped at the bad line */

    path = write_file(f, "count = 5\ncolour = red\n");
    assert_int_equal(sw_config_load_file(table, &f->o, path), SW_ECONFIG);
    snprintf(want, sizeof want, "%s:2: unknown option colour", path);
    assert_string_equal(sw_config_error(), want);

    path = write_file(f, "count = 5\n\n\nmode = sideways\n");
    assert_int_equal(sw_config_load_file(table, &f->o, path), SW_ECONFIG);
    snprintf(want, sizeof want,
             "%s:4: bad value \"sideways\" for mode: expected one of full|normal|off", path);
    assert_string_equal(sw_config_error(), want);

    char missing[300];
    snprintf(missing, sizeof missing, "%s/absent.conf", f->dir);
    assert_int_equal(sw_config_load_file(table, &f->o, missing), SW_ECONFIG);
    assert_error_has("cannot open config file");
    assert_error_has("absent.conf");
}

/* The daemon's order: defaults, env, flags; then, if a config file was named, the
 * file, env and flags again, so that env beats the file and flags beat both. */
static int load_like_daemon(struct opts *o, const char **words, const char *file, int *next)
{
    int rc = sw_config_defaults(table, o);
    rc = rc ? rc : sw_config_load_env(table, o);
    rc = rc ? rc : load_args(o, words, next);
    if (rc == 0 && file) {
        rc = sw_config_load_file(table, o, file);
        rc = rc ? rc : sw_config_load_env(table, o);
        rc = rc ? rc : load_args(o, words, next);
    }
    return rc;
}

static void test_precedence(void **state)
{
    struct fixture *f = *state;
    const char *path = write_file(f, "name = file\ncount = 10\nwait = 10s\nmode = off\n");
    const char *words[] = {"--count", "30", NULL};
    int next;

    setenv("SWTEST_COUNT", "20", 1);
    setenv("SWTEST_WAIT", "20s", 1);
    assert_int_equal(load_like_daemon(&f->o, words, path, &next), 0);
    assert_string_equal(f->o.name, "file"); /* only the file sets it */
    assert_int_equal(f->o.mode, 2);         /* only the file sets it */
    assert_int_equal(f->o.wait_ms, 20000);  /* env beats the file */
    assert_int_equal(f->o.count, 30);       /* flags beat env and file */
    assert_int_equal(f->o.limit, 1 << 20);  /* nobody sets it: default */
    assert_int_equal(next, 3);
}

static void test_precedence_bad_env(void **state)
{
    struct fixture *f = *state;
    const char *path = write_file(f, "count = 10\n");
    const char *words[] = {NULL};
    int next;

    setenv("SWTEST_COUNT", "zero", 1);
    assert_int_equal(load_like_daemon(&f->o, words, path, &next), SW_ECONFIG);
    assert_error_has("SWTEST_COUNT");
}

/* Captures what print writes for the table. */
static char *capture(void (*print)(const struct sw_config_entry *, FILE *))
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    print(table, out);
    fclose(out);
    return text;
}

static void test_help(void **state)
{
    char *text = capture(sw_config_print_help);

    for (const struct sw_config_entry *e = table; e->key; e++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s ", e->key);
        if (strstr(text, flag) == NULL)
            fail_msg("help lacks %s:\n%s", flag, text);
        assert_non_null(strstr(text, e->help));
        if (e->env)
            assert_non_null(strstr(text, e->env));
    }
    assert_non_null(strstr(text, "--wait DURATION"));
    assert_non_null(strstr(text, "--limit SIZE"));
    assert_non_null(strstr(text, "--count N"));
    assert_non_null(strstr(text, "--mode full|normal|off"));
    assert_non_null(strstr(text, "default: 30s"));
    assert_non_null(strstr(text, "default: (none)"));
    free(text);
}

static void test_reference(void **state)
{
    char *text = capture(sw_config_print_reference);

    for (const struct sw_config_entry *e = table; e->key; e++) {
        char line[128];
        snprintf(line, sizeof line, "# %s = %s\n", e->key,
                 e->default_value ? e->default_value : "");
        if (strstr(text, line) == NULL)
            fail_msg("reference lacks \"%s\":\n%s", line, text);
    }
    free(text);
}

static void test_free_clears_strings(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    assert_int_equal(sw_config_set(table, &f->o, "path", "/x", "t"), 0);
    sw_config_free(table, &f->o);
    assert_null(f->o.name);
    assert_null(f->o.path);
    sw_config_free(table, &f->o); /* twice is harmless */
}

static void test_out_of_memory(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(sw_config_defaults(table, &f->o), 0);
    sw_alloc_fail_after(1);
    assert_int_equal(sw_config_set(table, &f->o, "name", "longer", "t"), SW_ENOMEM);
    sw_alloc_fail_after(0);
    assert_string_equal(f->o.name, "anon");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_bad_default_names_key),
        T(test_set),
        T(test_bool_values),
        T(test_value_errors_name_key),
        T(test_env),
        T(test_args_forms),
        T(test_args_bool_explicit),
        T(test_args_stop_at_operand),
        T(test_args_errors),
        T(test_file),
        T(test_file_errors_give_line),
        T(test_precedence),
        T(test_precedence_bad_env),
        T(test_help),
        T(test_reference),
        T(test_free_clears_strings),
        T(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
