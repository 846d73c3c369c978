/* SPDX-License-Identifier: MIT
 * test_cli_args.c - unit tests of the swarm command-line parser (src/cli/args.c):
 * global options anywhere on the line, "--" ending the options, flags with and
 * without values, operand counts, typed values, and the one-line messages that
 * name the bad flag. args.c is compiled into this test directly, since the CLI is
 * an executable rather than a library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/args.c"

static const struct sw_flag submit_flags[] = {
    {"--payload", "JSON", "payload"}, {"--priority", "N", "priority"},
    {"--delay", "DURATION", "delay"}, {"--label", "K=V", "label"},
    {"--wait", NULL, "wait"},         {NULL, NULL, NULL},
};

static const struct sw_syntax submit_syntax = {"task submit", "CAPABILITY", 1, 1, submit_flags};

/* Runs sw_args_init on a NULL-terminated word list (argv[0] is added). */
static int init_words(struct sw_args *a, const char **words)
{
    char *argv[32] = {"swarm"};
    int argc = 1;

    while (*words && argc < 31)
        argv[argc++] = (char *)*words++;
    return sw_args_init(a, argc, argv);
}

/* Inits, then parses against submit_syntax after the two command words. */
static int parse_submit(struct sw_args *a, const char **words)
{
    int rc = init_words(a, words);
    return rc ? rc : sw_args_parse(a, 2, &submit_syntax);
}

static void test_globals_anywhere(void **state)
{
    const char *words[] = {"task",         "-o",  "json",        "get", "--url",
                           "unix:/x.sock", "t_1", "--token=abc", NULL};
    struct sw_args a;

    assert_int_equal(init_words(&a, words), 0);
    assert_string_equal(a.output, "json");
    assert_string_equal(a.url, "unix:/x.sock");
    assert_string_equal(a.token, "abc");
    assert_int_equal(a.nwords, 3);
    assert_string_equal(a.words[0], "task");
    assert_string_equal(a.words[1], "get");
    assert_string_equal(a.words[2], "t_1");
    assert_int_equal(sw_args_leading_words(&a), 3);
    sw_args_free(&a);
}

static void test_global_forms(void **state)
{
    const char *joined[] = {"-ojson", "health", NULL};
    const char *equals[] = {"--output=table", "--url=http://h:1", "health", "--help", NULL};
    struct sw_args a;

    assert_int_equal(init_words(&a, joined), 0);
    assert_string_equal(a.output, "json");
    sw_args_free(&a);
    assert_int_equal(init_words(&a, equals), 0);
    assert_string_equal(a.output, "table");
    assert_string_equal(a.url, "http://h:1");
    assert_true(a.help);
    assert_int_equal(a.nwords, 1);
    sw_args_free(&a);
}

static void test_global_errors(void **state)
{
    const char *bad_output[] = {"task", "ls", "-o", "yaml", NULL};
    const char *no_value[] = {"task", "ls", "--url", NULL};
    struct sw_args a;

    assert_int_equal(init_words(&a, bad_output), SW_EINVAL);
    assert_non_null(strstr(a.error, "-o"));
    assert_non_null(strstr(a.error, "yaml"));
    sw_args_free(&a);
    assert_int_equal(init_words(&a, no_value), SW_EINVAL);
    assert_string_equal(a.error, "--url needs a value");
    sw_args_free(&a);
}

static void test_default_output_is_table(void **state)
{
    const char *words[] = {"version", NULL};
    struct sw_args a;

    assert_int_equal(init_words(&a, words), 0);
    assert_string_equal(a.output, "table");
    assert_null(a.url);
    assert_null(a.token);
    assert_false(a.help);
    assert_false(a.version);
    sw_args_free(&a);
}

static void test_double_dash_ends_options(void **state)
{
    const char *words[] = {"task", "submit", "--", "-o", NULL};
    struct sw_args a;

    assert_int_equal(parse_submit(&a, words), 0);
    assert_string_equal(a.output, "table");
    assert_int_equal(a.noperands, 1);
    assert_string_equal(a.operands[0], "-o");
    sw_args_free(&a);
}

static void test_flags_and_operand(void **state)
{
    const char *words[] = {"task",         "submit",    "--priority", "5",      "resize",
                           "--priority=7", "--payload", "-",          "--wait", NULL};
    struct sw_args a;

    assert_int_equal(parse_submit(&a, words), 0);
    assert_int_equal(a.noperands, 1);
    assert_string_equal(a.operands[0], "resize");
    assert_string_equal(sw_args_get(&a, "--priority"), "7"); /* the last one wins */
    assert_string_equal(sw_args_get(&a, "--payload"), "-");
    assert_true(sw_args_has(&a, "--wait"));
    assert_null(sw_args_get(&a, "--wait"));
    assert_false(sw_args_has(&a, "--delay"));
    assert_null(sw_args_get(&a, "--delay"));
    sw_args_free(&a);
}

static void test_repeated_flag(void **state)
{
    const char *words[] = {"task", "submit", "x", "--label", "a=1", "--label=b=2", NULL};
    struct sw_args a;
    int pos = 0;

    assert_int_equal(parse_submit(&a, words), 0);
    assert_string_equal(sw_args_next(&a, "--label", &pos), "a=1");
    assert_string_equal(sw_args_next(&a, "--label", &pos), "b=2");
    assert_null(sw_args_next(&a, "--label", &pos));
    sw_args_free(&a);
}

static void test_flag_errors(void **state)
{
    const char *unknown[] = {"task", "submit", "x", "--bogus", NULL};
    const char *switch_value[] = {"task", "submit", "x", "--wait=yes", NULL};
    const char *missing[] = {"task", "submit", "x", "--priority", NULL};
    const char *short_flag[] = {"task", "submit", "x", "-p", NULL};
    struct sw_args a;

    assert_int_equal(parse_submit(&a, unknown), SW_EINVAL);
    assert_string_equal(a.error, "unknown flag '--bogus' for 'task submit'");
    sw_args_free(&a);
    assert_int_equal(parse_submit(&a, switch_value), SW_EINVAL);
    assert_string_equal(a.error, "--wait takes no value");
    sw_args_free(&a);
    assert_int_equal(parse_submit(&a, missing), SW_EINVAL);
    assert_string_equal(a.error, "--priority needs a value (N)");
    sw_args_free(&a);
    assert_int_equal(parse_submit(&a, short_flag), SW_EINVAL);
    assert_non_null(strstr(a.error, "'-p'"));
    sw_args_free(&a);
}

static void test_operand_counts(void **state)
{
    const char *none[] = {"task", "submit", NULL};
    const char *two[] = {"task", "submit", "a", "b", NULL};
    struct sw_args a;

    assert_int_equal(parse_submit(&a, none), SW_EINVAL);
    assert_string_equal(a.error, "missing CAPABILITY for 'task submit'");
    sw_args_free(&a);
    assert_int_equal(parse_submit(&a, two), SW_EINVAL);
    assert_string_equal(a.error, "unexpected argument 'b' for 'task submit'");
    sw_args_free(&a);
}

static void test_int_values(void **state)
{
    const char *words[] = {"task", "submit", "x", "--priority", "-3", NULL};
    const char *garbage[] = {"task", "submit", "x", "--priority", "5x", NULL};
    struct sw_args a;
    int64_t value = 99;

    assert_int_equal(parse_submit(&a, words), 0);
    assert_int_equal(sw_args_int(&a, "--priority", -10, 10, &value), 0);
    assert_int_equal(value, -3);
    assert_int_equal(sw_args_int(&a, "--priority", 0, 10, &value), SW_EINVAL);
    assert_non_null(strstr(a.error, "out of range"));
    value = 99;
    assert_int_equal(sw_args_int(&a, "--delay", 0, 10, &value), 0); /* absent */
    assert_int_equal(value, 99);
    sw_args_free(&a);
    assert_int_equal(parse_submit(&a, garbage), 0);
    assert_int_equal(sw_args_int(&a, "--priority", -10, 10, &value), SW_EINVAL);
    assert_string_equal(a.error, "--priority: '5x' is not a whole number");
    sw_args_free(&a);
}

static void test_duration_values(void **state)
{
    const char *words[] = {"task", "submit", "x", "--delay", "1m30s", NULL};
    const char *bare[] = {"task", "submit", "x", "--delay", "250", NULL};
    const char *bad[] = {"task", "submit", "x", "--delay", "5x", NULL};
    struct sw_args a;
    int64_t ms = 0;

    assert_int_equal(parse_submit(&a, words), 0);
    assert_int_equal(sw_args_duration(&a, "--delay", &ms), 0);
    assert_int_equal(ms, 90000);
    sw_args_free(&a);
    assert_int_equal(parse_submit(&a, bare), 0);
    assert_int_equal(sw_args_duration(&a, "--delay", &ms), 0);
    assert_int_equal(ms, 250);
    sw_args_free(&a);
    assert_int_equal(parse_submit(&a, bad), 0);
    assert_int_equal(sw_args_duration(&a, "--delay", &ms), SW_EINVAL);
    assert_non_null(strstr(a.error, "--delay: '5x' is not a duration"));
    sw_args_free(&a);
}

static void test_leading_words_stop_at_flag(void **state)
{
    const char *words[] = {"task", "ls", "--state", "queued", NULL};
    struct sw_args a;

    assert_int_equal(init_words(&a, words), 0);
    assert_int_equal(sw_args_leading_words(&a), 2);
    sw_args_free(&a);
}

static void test_out_of_memory(void **state)
{
    const char *words[] = {"task", "ls", NULL};
    struct sw_args a;

    sw_alloc_fail_after(1);
    assert_int_equal(init_words(&a, words), SW_ENOMEM);
    sw_args_free(&a);
    sw_alloc_fail_after(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_globals_anywhere),
        cmocka_unit_test(test_global_forms),
        cmocka_unit_test(test_global_errors),
        cmocka_unit_test(test_default_output_is_table),
        cmocka_unit_test(test_double_dash_ends_options),
        cmocka_unit_test(test_flags_and_operand),
        cmocka_unit_test(test_repeated_flag),
        cmocka_unit_test(test_flag_errors),
        cmocka_unit_test(test_operand_counts),
        cmocka_unit_test(test_int_values),
        cmocka_unit_test(test_duration_values),
        cmocka_unit_test(test_leading_words_stop_at_flag),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
