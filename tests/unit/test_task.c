/* SPDX-License-Identifier: MIT
 * test_task.c - unit tests of the task entity (src/model/task.c): retry backoff
 * (attempt 1 waits the initial delay, growth by the multiplier, the cap, and equal
 * jitter keeping every delay within [d/2, d]), the transition after a failed
 * attempt, state names, owned string fields, the JSON rendering of a task (read
 * back with jansson: id format, state, raw payload, fields present only in the
 * states that have them) and JSON string escaping that jansson decodes back to the
 * original bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/ids.h"
#include "model/task.h"

#include <jansson.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ---- backoff ---- */

/* Checks that every delay for `attempt` lies in [d/2, d], and that both ends occur. */
static void assert_delay_range(const struct sw_backoff *b, int attempt, int64_t d)
{
    int64_t half = d / 2;
    for (int i = 0; i < 2000; i++) {
        int64_t got = sw_backoff_delay_ms(b, attempt, rnd());
        if (got < half || got > d)
            fail_msg("attempt %d: delay %lld outside [%lld, %lld]", attempt, (long long)got,
                     (long long)half, (long long)d);
    }
    assert_int_equal(sw_backoff_delay_ms(b, attempt, 0), half);
    assert_int_equal(sw_backoff_delay_ms(b, attempt, (uint64_t)(d - half)), d);
    assert_int_equal(sw_backoff_delay_ms(b, attempt, (uint64_t)(d - half + 1)), half);
}

static void test_backoff_growth_and_cap(void **state)
{
    struct sw_backoff b = {1000, 60000, 2.0};
    static const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};

    for (int attempt = 1; attempt <= 9; attempt++)
        assert_delay_range(&b, attempt, want[attempt - 1]);
    assert_delay_range(&b, 1000, 60000); /* far past the cap, no overflow */
}

static void test_backoff_fractional_multiplier(void **state)
{
    struct sw_backoff b = {1000, 100000, 1.5};

    assert_delay_range(&b, 1, 1000);
    assert_delay_range(&b, 2, 1500);
    assert_delay_range(&b, 3, 2250);
    assert_delay_range(&b, 4, 3375);
}

static void test_backoff_constant(void **state)
{
    struct sw_backoff flat = {500, 500, 2.0};
    struct sw_backoff one = {700, 10000, 1.0};

    for (int attempt = 1; attempt < 20; attempt++) {
        assert_delay_range(&flat, attempt, 500);
        assert_delay_range(&one, attempt, 700);
    }
}

static void test_backoff_initial_above_max(void **state)
{
    struct sw_backoff b = {10000, 3000, 2.0};

    assert_delay_range(&b, 1, 3000);
    assert_delay_range(&b, 5, 3000);
}

static void test_backoff_tiny(void **state)
{
    struct sw_backoff zero = {0, 0, 2.0};
    struct sw_backoff one = {1, 1, 2.0};
    struct sw_backoff two = {1, 1000, 2.0};

    for (int i = 0; i < 100; i++) {
        assert_int_equal(sw_backoff_delay_ms(&zero, 1 + i % 5, rnd()), 0);
        assert_int_equal(sw_backoff_delay_ms(&one, 1 + i % 5, rnd()), 1);
    }
    assert_delay_range(&two, 2, 2);
    assert_delay_range(&two, 3, 4);
}

static void test_backoff_jitter_spreads(void **state)
{
    struct sw_backoff b = {10000, 10000, 2.0};
    int buckets[5] = {0};

    /* the delays spread over the whole of [5000, 10000] */
    for (int i = 0; i < 5000; i++) {
        int64_t got = sw_backoff_delay_ms(&b, 1, rnd());
        int k = (int)((got - 5000) * 5 / 5001);
        buckets[k]++;
    }
    for (int k = 0; k < 5; k++)
        assert_in_range(buckets[k], 700, 1300);
}

/* ---- after a failed attempt ---- */

static struct sw_task *new_task(void)
{
    struct sw_task *t = sw_task_new();
    assert_non_null(t);
    assert_true(t->heap_index == (size_t)-1);
    t->backoff = (struct sw_backoff){1000, 60000, 2.0};
    t->state = SW_TASK_RUNNING;
    return t;
}

static void test_after_failure_retries(void **state)
{
    struct sw_task *t = new_task();
    int64_t now = 1700000000000;

    t->attempt = 1;
    t->max_attempts = 3;
    sw_task_after_failure(t, 1, now, rnd());
    assert_int_equal(t->state, SW_TASK_SCHEDULED);
    assert_in_range(t->run_at, now + 500, now + 1000);
    assert_int_equal(t->dead, 0);
    assert_int_equal(t->finished_at, 0);
    assert_int_equal(t->updated_at, now);

    t->state = SW_TASK_RUNNING;
    t->attempt = 2;
    sw_task_after_failure(t, 1, now, rnd());
    assert_int_equal(t->state, SW_TASK_SCHEDULED);
    assert_in_range(t->run_at, now + 1000, now + 2000);
    sw_task_free(t);
}

static void test_after_failure_exhausted(void **state)
{
    struct sw_task *t = new_task();
    int64_t now = 1700000000000;

    t->attempt = 3;
    t->max_attempts = 3;
    sw_task_after_failure(t, 1, now, rnd());
    assert_int_equal(t->state, SW_TASK_FAILED);
    assert_int_equal(t->dead, 1);
    assert_int_equal(t->finished_at, now);
    assert_int_equal(t->updated_at, now);
    sw_task_free(t);
}

static void test_after_failure_no_retry(void **state)
{
    struct sw_task *t = new_task();
    int64_t now = 1700000000000;

    t->attempt = 1;
    t->max_attempts = 10;
    sw_task_after_failure(t, 0, now, rnd());
    assert_int_equal(t->state, SW_TASK_FAILED);
    assert_int_equal(t->dead, 1);
    assert_int_equal(t->finished_at, now);
    sw_task_free(t);
}

/* ---- states and fields ---- */

static void test_state_names(void **state)
{
    enum sw_task_state s = SW_TASK_NSTATES;

    for (int i = 0; i < SW_TASK_NSTATES; i++) {
        assert_int_equal(sw_task_state_parse(sw_task_state_names[i], &s), 0);
        assert_int_equal(s, i);
    }
    assert_int_equal(sw_task_state_parse("queued", &s), 0);
    assert_int_equal(s, SW_TASK_QUEUED);
    static const char *const bad[] = {"",        "QUEUED", "queue",   "queued ",
                                      " queued", "done",   "canceled"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = SW_TASK_NSTATES;
        assert_int_equal(sw_task_state_parse(bad[i], &s), SW_EINVAL);
        assert_int_equal(s, SW_TASK_NSTATES);
    }
    assert_false(sw_task_state_terminal(SW_TASK_SCHEDULED));
    assert_false(sw_task_state_terminal(SW_TASK_QUEUED));
    assert_false(sw_task_state_terminal(SW_TASK_RUNNING));
    assert_true(sw_task_state_terminal(SW_TASK_SUCCEEDED));
    assert_true(sw_task_state_terminal(SW_TASK_FAILED));
    assert_true(sw_task_state_terminal(SW_TASK_CANCELLED));
}

static void test_set_str(void **state)
{
    struct sw_task *t = new_task();
    char source[] = "hello";

    assert_int_equal(sw_task_set_str(&t->capability, source), 0);
    source[0] = 'j'; /* a copy was taken */
    assert_string_equal(t->capability, "hello");
    assert_int_equal(sw_task_set_str(&t->capability, "other"), 0);
    assert_string_equal(t->capability, "other");
    assert_int_equal(sw_task_set_str(&t->capability, NULL), 0);
    assert_null(t->capability);
    assert_int_equal(sw_task_set_str(&t->capability, "kept"), 0);
    sw_alloc_fail_after(1);
    assert_int_equal(sw_task_set_str(&t->capability, "lost"), SW_ENOMEM);
    sw_alloc_fail_after(0);
    assert_string_equal(t->capability, "kept");
    sw_task_free(t);
    sw_task_free(NULL);
}

/* ---- rendering ---- */

/* Renders t and parses it back; the caller json_decref's. Duplicate keys fail. */
static json_t *render(const struct sw_task *t)
{
    struct sw_buf b;
    json_error_t err;

    sw_buf_init(&b, 1 << 20);
    assert_int_equal(sw_task_render(t, &b), 0);
    json_t *root = json_loads(b.data, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL)
        fail_msg("render is not JSON (%s): %s", err.text, b.data);
    sw_buf_free(&b);
    assert_true(json_is_object(root));
    return root;
}

static const char *get_str(json_t *root, const char *key)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_string(v))
        fail_msg("field %s is not a string", key);
    return json_string_value(v);
}

static void assert_field_json(json_t *root, const char *key, const char *want_text)
{
    json_t *want = json_loads(want_text, JSON_DECODE_ANY, NULL);
    assert_non_null(want);
    if (!json_equal(json_object_get(root, key), want))
        fail_msg("field %s differs from %s", key, want_text);
    json_decref(want);
}

static struct sw_task *sample_task(enum sw_task_state state)
{
    struct sw_task *t = new_task();
    t->id = 0x0193a4b2c8d90001ULL;
    assert_int_equal(sw_task_set_str(&t->capability, "email.send"), 0);
    assert_int_equal(sw_task_set_str(&t->payload, "{\"to\":[\"a@b.c\"],\"n\":1.5,\"x\":null}"), 0);
    t->state = state;
    t->priority = -7;
    t->attempt = 2;
    t->max_attempts = 5;
    t->timeout_ms = 30000;
    t->created_at = 1700000000123;
    t->updated_at = 1700000001000;
    t->run_at = 1700000005000;
    t->lease_id = 0xfedcba9876543210ULL;
    t->lease_deadline = 1700000031000;
    return t;
}

static void test_render_queued(void **state)
{
    struct sw_task *t = sample_task(SW_TASK_QUEUED);
    json_t *root = render(t);
    uint64_t id = 0;

    const char *text = get_str(root, "id");
    assert_int_equal(strlen(text), 18);
    assert_memory_equal(text, "t_", 2);
    for (int i = 2; i < 18; i++)
        assert_non_null(strchr("0123456789abcdef", text[i]));
    assert_int_equal(sw_id_parse('t', text, &id), 0);
    assert_true(id == t->id);
    assert_string_equal(get_str(root, "capability"), "email.send");
    assert_string_equal(get_str(root, "state"), "queued");
    assert_int_equal(json_integer_value(json_object_get(root, "priority")), -7);
    assert_int_equal(json_integer_value(json_object_get(root, "attempt")), 2);
    assert_int_equal(json_integer_value(json_object_get(root, "max_attempts")), 5);
    assert_int_equal(json_integer_value(json_object_get(root, "timeout_ms")), 30000);
    assert_true(json_is_false(json_object_get(root, "dead")));
    assert_field_json(root, "backoff", "{\"initial_ms\":1000,\"max_ms\":60000,\"multiplier\":2}");
    /* the payload is embedded as JSON, not as a string */
    assert_field_json(root, "payload", "{\"to\":[\"a@b.c\"],\"n\":1.5,\"x\":null}");
    assert_field_json(root, "labels", "{}");
    assert_true(json_is_null(json_object_get(root, "idempotency_key")));
    assert_true(json_is_null(json_object_get(root, "swarm")));
    assert_true(json_is_null(json_object_get(root, "parent")));
    assert_true(json_is_null(json_object_get(root, "agent")));
    assert_string_equal(get_str(root, "created_at"), "2023-11-14T22:13:20.123Z");
    assert_string_equal(get_str(root, "updated_at"), "2023-11-14T22:13:21.000Z");
    assert_true(json_is_null(json_object_get(root, "started_at")));
    assert_true(json_is_null(json_object_get(root, "finished_at")));
    /* only the states that have them */
    assert_null(json_object_get(root, "run_at"));
    assert_null(json_object_get(root, "lease_id"));
    assert_null(json_object_get(root, "lease_expires_at"));
    assert_null(json_object_get(root, "result"));
    assert_null(json_object_get(root, "error"));
    assert_null(json_object_get(root, "progress"));
    json_decref(root);
    sw_task_free(t);
}

static void test_render_scheduled(void **state)
{
    struct sw_task *t = sample_task(SW_TASK_SCHEDULED);
    json_t *root = render(t);

    assert_string_equal(get_str(root, "state"), "scheduled");
    assert_string_equal(get_str(root, "run_at"), "2023-11-14T22:13:25.000Z");
    assert_null(json_object_get(root, "lease_id"));
    json_decref(root);
    sw_task_free(t);
}

static void test_render_running(void **state)
{
    struct sw_task *t = sample_task(SW_TASK_RUNNING);
    t->agent_id = 0x42;
    t->started_at = 1700000001000;
    assert_int_equal(sw_task_set_str(&t->progress, "{\"pct\":40}"), 0);
    json_t *root = render(t);

    assert_string_equal(get_str(root, "state"), "running");
    assert_string_equal(get_str(root, "lease_id"), "18364758544493064720");
    assert_string_equal(get_str(root, "lease_expires_at"), "2023-11-14T22:13:51.000Z");
    assert_string_equal(get_str(root, "agent"), "a_0000000000000042");
    assert_string_equal(get_str(root, "started_at"), "2023-11-14T22:13:21.000Z");
    assert_null(json_object_get(root, "run_at"));
    assert_field_json(root, "progress", "{\"pct\":40}");
    assert_null(json_object_get(root, "result"));
    json_decref(root);
    sw_task_free(t);
}

static void test_render_finished(void **state)
{
    struct sw_task *t = sample_task(SW_TASK_SUCCEEDED);
    t->finished_at = 1700000002000;
    t->parent = 0x7;
    assert_int_equal(sw_task_set_str(&t->result, "[1,\"two\",{\"three\":3}]"), 0);
    assert_int_equal(sw_task_set_str(&t->labels, "{\"team\":\"infra\"}"), 0);
    assert_int_equal(sw_task_set_str(&t->idempotency_key, "order-17"), 0);
    assert_int_equal(sw_task_set_str(&t->swarm, "blue"), 0);
    json_t *root = render(t);

    assert_string_equal(get_str(root, "state"), "succeeded");
    assert_field_json(root, "result", "[1,\"two\",{\"three\":3}]");
    assert_null(json_object_get(root, "error"));
    assert_null(json_object_get(root, "run_at"));
    assert_null(json_object_get(root, "lease_id"));
    assert_field_json(root, "labels", "{\"team\":\"infra\"}");
    assert_string_equal(get_str(root, "idempotency_key"), "order-17");
    assert_string_equal(get_str(root, "swarm"), "blue");
    assert_string_equal(get_str(root, "parent"), "t_0000000000000007");
    assert_string_equal(get_str(root, "finished_at"), "2023-11-14T22:13:22.000Z");
    json_decref(root);
    sw_task_free(t);

    t = sample_task(SW_TASK_FAILED);
    t->dead = 1;
    assert_int_equal(sw_task_set_str(&t->error, "{\"code\":\"boom\",\"message\":\"it broke\"}"), 0);
    root = render(t);
    assert_string_equal(get_str(root, "state"), "failed");
    assert_true(json_is_true(json_object_get(root, "dead")));
    assert_field_json(root, "error", "{\"code\":\"boom\",\"message\":\"it broke\"}");
    assert_null(json_object_get(root, "result"));
    json_decref(root);
    sw_task_free(t);
}

static void test_render_every_state_is_json(void **state)
{
    for (int s = 0; s < SW_TASK_NSTATES; s++) {
        struct sw_task *t = sample_task((enum sw_task_state)s);
        sw_task_set_str(&t->payload, NULL); /* a missing payload renders as null */
        json_t *root = render(t);
        assert_string_equal(get_str(root, "state"), sw_task_state_names[s]);
        assert_true(json_is_null(json_object_get(root, "payload")));
        assert_int_equal(json_object_get(root, "run_at") != NULL, s == SW_TASK_SCHEDULED);
        assert_int_equal(json_object_get(root, "lease_id") != NULL, s == SW_TASK_RUNNING);
        json_decref(root);
        sw_task_free(t);
    }
}

static void test_render_escapes_strings(void **state)
{
    struct sw_task *t = sample_task(SW_TASK_QUEUED);
    const char *nasty = "cap \"quoted\" \\ back\nline\ttab\x01";
    assert_int_equal(sw_task_set_str(&t->capability, nasty), 0);
    assert_int_equal(sw_task_set_str(&t->idempotency_key, "key\"}{\"x\":\""), 0);
    json_t *root = render(t);

    assert_string_equal(get_str(root, "capability"), nasty);
    assert_string_equal(get_str(root, "idempotency_key"), "key\"}{\"x\":\"");
    json_decref(root);
    sw_task_free(t);
}

static void test_render_ceiling(void **state)
{
    struct sw_task *t = sample_task(SW_TASK_QUEUED);
    struct sw_buf b;

    sw_buf_init(&b, 100);
    assert_int_equal(sw_task_render(t, &b), SW_ETOO_LARGE);
    sw_buf_free(&b);
    sw_task_free(t);
}

/* ---- string escaping ---- */

/* Appends s as a JSON string, decodes it with jansson, compares with s. */
static void assert_string_round_trip(const char *s)
{
    struct sw_buf b;
    json_error_t err;

    sw_buf_init(&b, 1 << 16);
    assert_int_equal(sw_json_append_string(&b, s), 0);
    json_t *v = json_loads(b.data, JSON_DECODE_ANY, &err);
    if (v == NULL)
        fail_msg("not a JSON string (%s): %s", err.text, b.data);
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), s);
    /* the literal itself holds no raw control character */
    for (size_t i = 0; i < b.len; i++)
        assert_true((unsigned char)b.data[i] >= 0x20);
    json_decref(v);
    sw_buf_free(&b);
}

static void test_json_string_escapes(void **state)
{
    struct sw_buf b;

    sw_buf_init(&b, 1024);
    assert_int_equal(sw_json_append_string(&b, "a\"b\\c\nd\te\rf\x01g\x1f"), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\te\\rf\\u0001g\\u001f\"");
    sw_buf_reset(&b);
    assert_int_equal(sw_json_append_string(&b, ""), 0);
    assert_string_equal(b.data, "\"\"");
    sw_buf_reset(&b);
    assert_int_equal(sw_json_append_string(&b, "plain"), 0);
    assert_string_equal(b.data, "\"plain\"");
    sw_buf_free(&b);
}

static void test_json_string_round_trips(void **state)
{
    char all[64];
    int n = 0;

    /* every control character, both escapes and bytes around them */
    for (int c = 1; c < 0x20; c++)
        all[n++] = (char)c;
    all[n++] = '"';
    all[n++] = '\\';
    all[n++] = '/';
    all[n++] = 0x7f;
    all[n] = '\0';
    assert_string_round_trip(all);
    assert_string_round_trip("\"");
    assert_string_round_trip("\\");
    assert_string_round_trip("\\\"");
    assert_string_round_trip("ends with backslash\\");
    assert_string_round_trip("\"starts and ends with quotes\"");
    assert_string_round_trip("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9d"); /* UTF-8 */
    assert_string_round_trip("\\u0041 is not decoded");
    assert_string_round_trip("</script>");
    /* random printable and control mixes */
    for (int round = 0; round < 500; round++) {
        char s[80];
        int len = (int)(rnd() % 79);
        for (int i = 0; i < len; i++) {
            char c = (char)(rnd() % 0x7f);
            s[i] = c ? c : 'z';
        }
        s[len] = '\0';
        assert_string_round_trip(s);
    }
}

static void test_json_string_ceiling(void **state)
{
    struct sw_buf b;

    sw_buf_init(&b, 8);
    assert_int_equal(sw_json_append_string(&b, "\n\n\n\n"), SW_ETOO_LARGE);
    assert_true(b.len <= 8);
    sw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_growth_and_cap),
        cmocka_unit_test(test_backoff_fractional_multiplier),
        cmocka_unit_test(test_backoff_constant),
        cmocka_unit_test(test_backoff_initial_above_max),
        cmocka_unit_test(test_backoff_tiny),
        cmocka_unit_test(test_backoff_jitter_spreads),
        cmocka_unit_test(test_after_failure_retries),
        cmocka_unit_test(test_after_failure_exhausted),
        cmocka_unit_test(test_after_failure_no_retry),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_set_str),
        cmocka_unit_test(test_render_queued),
        cmocka_unit_test(test_render_scheduled),
        cmocka_unit_test(test_render_running),
        cmocka_unit_test(test_render_finished),
        cmocka_unit_test(test_render_every_state_is_json),
        cmocka_unit_test(test_render_escapes_strings),
        cmocka_unit_test(test_render_ceiling),
        cmocka_unit_test(test_json_string_escapes),
        cmocka_unit_test(test_json_string_round_trips),
        cmocka_unit_test(test_json_string_ceiling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
