/* SPDX-License-Identifier: MIT
 * test_cli_spec.c - unit tests of spec files (src/cli/spec.c, spec_yaml.c): YAML
 * scalars, lists and mappings turned into JSON, kind and name taken out of the body,
 * the FILE:LINE:COLUMN of every error (unknown fields with a suggestion, bad kind or
 * name, an object defined twice, duplicate keys, YAML syntax), the place of a field the
 * daemon names, anchors and their limit, the apply order (templates, then parents
 * before children; a loop of parents refused), and the starter spec of "swarm init",
 * with and without its commented-out fields. The sources are compiled into this test
 * directly, since the CLI is an executable rather than a library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "cli/spec.c"
#include "cli/spec_yaml.c"
#include "cli/starter.c"

/* Loads text as file into a fresh set. */
static int load(struct sw_spec *s, const char *file, const char *text)
{
    sw_spec_init(s);
    return sw_spec_load_text(s, file, text, strlen(text));
}

static const char *errors(const struct sw_spec *s)
{
    return s->errors.len ? s->errors.data : "";
}

/* Asserts that the errors hold want. */
static void assert_error(const struct sw_spec *s, const char *want)
{
    if (strstr(errors(s), want) == NULL)
        fail_msg("no error \"%s\" in:\n%s", want, errors(s));
}

static void assert_json(const json_t *v, const char *want)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    assert_non_null(text);
    if (strcmp(text, want) != 0)
        fail_msg("got %s, want %s", text, want);
    free(text);
}

static void test_scalars(void **state)
{
    static const char text[] = "kind: template\n"
                               "name: t\n"
                               "labels:\n"
                               "  int: 42\n"
                               "  neg: -7\n"
                               "  real: 1.5\n"
                               "  exp: 1e3\n"
                               "  zero: 0\n"
                               "  octal: 007\n"
                               "  hex: 0x10\n"
                               "  plus: +1\n"
                               "  dot: .5\n"
                               "  huge: 123456789012345678901234567890\n"
                               "  quoted: \"42\"\n"
                               "  single: 'true'\n"
                               "  yes: yes\n"
                               "  on: on\n"
                               "  t: true\n"
                               "  f: False\n"
                               "  n1: null\n"
                               "  n2: ~\n"
                               "  n3:\n"
                               "  tagged: !!str 5\n"
                               "  size: 512MiB\n"
                               "  dur: 30s\n"
                               "  text: hello world\n"
                               "  block: |\n"
                               "    a\n"
                               "    b\n";
    struct sw_spec s;
    const json_t *labels;

    assert_int_equal(load(&s, "x.yaml", text), 0);
    assert_int_equal(s.nobjects, 1);
    labels = json_object_get(s.objects[0].body, "labels");
    assert_json(json_object_get(labels, "int"), "42");
    assert_json(json_object_get(labels, "neg"), "-7");
    assert_json(json_object_get(labels, "real"), "1.5");
    assert_true(json_is_real(json_object_get(labels, "exp")));
    assert_json(json_object_get(labels, "zero"), "0");
    assert_json(json_object_get(labels, "octal"), "\"007\"");
    assert_json(json_object_get(labels, "hex"), "\"0x10\"");
    assert_json(json_object_get(labels, "plus"), "\"+1\"");
    assert_json(json_object_get(labels, "dot"), "\".5\"");
    assert_true(json_is_real(json_object_get(labels, "huge")));
    assert_json(json_object_get(labels, "quoted"), "\"42\"");
    assert_json(json_object_get(labels, "single"), "\"true\"");
    assert_json(json_object_get(labels, "yes"), "\"yes\"");
    assert_json(json_object_get(labels, "on"), "\"on\"");
    assert_json(json_object_get(labels, "t"), "true");
    assert_json(json_object_get(labels, "f"), "false");
    assert_json(json_object_get(labels, "n1"), "null");
    assert_json(json_object_get(labels, "n2"), "null");
    assert_json(json_object_get(labels, "n3"), "null");
    assert_json(json_object_get(labels, "tagged"), "\"5\"");
    assert_json(json_object_get(labels, "size"), "\"512MiB\"");
    assert_json(json_object_get(labels, "dur"), "\"30s\"");
    assert_json(json_object_get(labels, "text"), "\"hello world\"");
    assert_json(json_object_get(labels, "block"), "\"a\\nb\\n\"");
    sw_spec_free(&s);
}

static void test_collections_and_body(void **state)
{
    static const char text[] = "# a template\n"
                               "kind: template\n"
                               "name: resizer\n"
                               "command: [\"python3\", \"resize.py\"]\n"
                               "capabilities:\n"
                               "  - resize\n"
                               "  - thumbnail@2\n"
                               "env: {QUALITY: \"85\"}\n"
                               "backoff: {initial: 1s, max: 30s, multiplier: 2}\n"
                               "health:\n"
                               "  exec: [\"true\"]\n"
                               "  failures: 3\n";
    struct sw_spec s;
    const struct sw_spec_object *o;

    assert_int_equal(load(&s, "t.yaml", text), 0);
    assert_int_equal(s.nobjects, 1);
    o = &s.objects[0];
    assert_int_equal(o->kind, SW_SPEC_TEMPLATE);
    assert_string_equal(o->name, "resizer");
    assert_string_equal(o->file, "t.yaml");
    assert_int_equal(o->start.line, 2);
    assert_int_equal(o->start.column, 1);
    assert_json(o->body, "{\"backoff\":{\"initial\":\"1s\",\"max\":\"30s\",\"multiplier\":2},"
                         "\"capabilities\":[\"resize\",\"thumbnail@2\"],"
                         "\"command\":[\"python3\",\"resize.py\"],\"env\":{\"QUALITY\":\"85\"},"
                         "\"health\":{\"exec\":[\"true\"],\"failures\":3}}");
    sw_spec_free(&s);
}

static void test_positions(void **state)
{
    static const char text[] = "kind: swarm\n"
                               "name: media\n"
                               "template:\n"
                               "  command: [\"a\", \"b\"]\n"
                               "  capabilities: [x]\n"
                               "replicas: 2\n"
                               "labels: {tier: backend}\n";
    struct sw_spec s;
    struct sw_spec_pos pos;

    assert_int_equal(load(&s, "m.yaml", text), 0);
    pos = sw_spec_field_pos(&s.objects[0], "replicas");
    assert_int_equal(pos.line, 6);
    assert_int_equal(pos.column, 1);
    pos = sw_spec_field_pos(&s.objects[0], "template.command");
    assert_int_equal(pos.line, 4);
    assert_int_equal(pos.column, 3);
    pos = sw_spec_field_pos(&s.objects[0], "template.command[1]");
    assert_int_equal(pos.line, 4);
    assert_int_equal(pos.column, 19); /* a quoted scalar's text starts after its quote */
    pos = sw_spec_field_pos(&s.objects[0], "labels.tier");
    assert_int_equal(pos.line, 7);
    assert_int_equal(pos.column, 10);
    /* a field the document lacks: its nearest enclosing key, else the start */
    pos = sw_spec_field_pos(&s.objects[0], "template.mode");
    assert_int_equal(pos.line, 3);
    assert_int_equal(pos.column, 1);
    /* a daemon that names only the innermost key */
    pos = sw_spec_field_pos(&s.objects[0], "tier");
    assert_int_equal(pos.line, 7);
    assert_int_equal(pos.column, 10);
    pos = sw_spec_field_pos(&s.objects[0], "template.capabilities");
    assert_int_equal(pos.line, 5);
    pos = sw_spec_field_pos(&s.objects[0], "strategy");
    assert_int_equal(pos.line, 1);
    pos = sw_spec_field_pos(&s.objects[0], NULL);
    assert_int_equal(pos.line, 1);
    sw_spec_free(&s);
}

static void test_unknown_fields(void **state)
{
    static const char text[] = "kind: template\n"
                               "name: t\n"
                               "command: cat\n"
                               "capabilities: [x]\n"
                               "---\n"
                               "kind: swarm\n"
                               "name: media\n"
                               "template: t\n"
                               "  \n"
                               "replica: 2\n"
                               "command: cat\n"
                               "colour: red\n"
                               "queen: {comand: cat}\n";
    struct sw_spec s;

    assert_int_equal(load(&s, "spec.yaml", text), SW_EINVAL);
    assert_error(&s, "spec.yaml:10:1: swarm \"media\": unknown field \"replica\" "
                     "(did you mean \"replicas\"?)\n");
    assert_error(&s, "spec.yaml:11:1: swarm \"media\": unknown field \"command\" "
                     "(a field of a "
                     "template, not of a swarm)\n");
    assert_error(&s, "spec.yaml:12:1: swarm \"media\": unknown field \"colour\" "
                     "(swarm fields: "
                     "parent, template, replicas,");
    assert_error(&s, "spec.yaml:13:9: swarm \"media\": unknown field \"queen.comand\" "
                     "(did you mean \"command\"?)\n");
    assert_int_equal(s.nerrors, 4);
    sw_spec_free(&s);
}

static void test_kind_and_name(void **state)
{
    static const char text[] = "kind: swam\n"
                               "name: a\n"
                               "---\n"
                               "name: b\n"
                               "---\n"
                               "kind: template\n"
                               "replicas: 1\n"
                               "---\n"
                               "kind: swarm\n"
                               "name: Media\n"
                               "---\n"
                               "kind: swarm\n"
                               "name: [x]\n"
                               "---\n"
                               "kind: 7\n";
    struct sw_spec s;

    assert_int_equal(load(&s, "k.yaml", text), SW_EINVAL);
    assert_error(&s, "k.yaml:1:7: kind must be \"template\" or \"swarm\", not \"swam\"\n");
    assert_error(&s, "k.yaml:4:1: missing \"kind\" (template or swarm)\n");
    assert_error(&s, "k.yaml:6:1: template: missing \"name\"\n");
    assert_error(&s, "k.yaml:10:7: swarm \"Media\": name must be 1 to 63 characters");
    assert_error(&s, "k.yaml:13:7: swarm: name must be a string\n");
    assert_error(&s, "k.yaml:15:7: kind must be \"template\" or \"swarm\", not 7\n");
    sw_spec_free(&s);
}

static void test_names(void **state)
{
    assert_true(name_valid("a"));
    assert_true(name_valid("media-2.v1_x"));
    assert_true(name_valid("0abc"));
    assert_false(name_valid(""));
    assert_false(name_valid("-a"));
    assert_false(name_valid(".a"));
    assert_false(name_valid("A"));
    assert_false(name_valid("a b"));
    assert_false(name_valid("a/b"));
    assert_true(name_valid("a23456789012345678901234567890123456789012345678901234567890123"));
    assert_false(name_valid("a234567890123456789012345678901234567890123456789012345678901234"));
}

static void test_defined_twice(void **state)
{
    static const char one[] = "kind: swarm\nname: media\ntemplate: t\n";
    static const char two[] = "kind: template\nname: media\ncommand: x\ncapabilities: [x]\n"
                              "---\nkind: swarm\nname: media\ntemplate: u\n";
    struct sw_spec s;

    assert_int_equal(load(&s, "a.yaml", one), 0);
    assert_int_equal(sw_spec_load_text(&s, "b.yaml", two, strlen(two)), SW_EINVAL);
    assert_error(&s, "b.yaml:7:7: swarm \"media\": defined twice (first at a.yaml:2:7)\n");
    assert_int_equal(s.nerrors, 1); /* a template and a swarm may share a name */
    sw_spec_free(&s);
}

static void test_yaml_errors(void **state)
{
    struct sw_spec s;

    assert_int_equal(load(&s, "c.yaml", "kind: swarm\nname: [x\nfoo: bar\n"), SW_EINVAL);
    assert_non_null(strstr(errors(&s), "c.yaml:"));
    assert_non_null(strstr(errors(&s), "flow sequence"));
    sw_spec_free(&s);

    assert_int_equal(load(&s, "d.yaml", "kind: swarm\nname: a\nkind: template\n"), SW_EINVAL);
    assert_error(&s, "d.yaml:3:1: duplicate key \"kind\" (first at line 1, column 1)\n");
    sw_spec_free(&s);

    assert_int_equal(load(&s, "e.yaml", "- a\n- b\n"), SW_EINVAL);
    assert_error(&s, "e.yaml:1:1: a document must be a mapping");
    sw_spec_free(&s);

    assert_int_equal(load(&s, "f.yaml", "# nothing here\n"), SW_EINVAL);
    assert_error(&s, "f.yaml: no documents");
    sw_spec_free(&s);

    assert_int_equal(load(&s, "g.yaml", "kind: swarm\nname: a\nlabels: {x: !!int 5}\n"), SW_EINVAL);
    assert_error(&s, "g.yaml:3:13: unsupported tag tag:yaml.org,2002:int here (only !!str)\n");
    sw_spec_free(&s);

    /* libfyaml 0.7.12 loops for ever on a UTF-8 sequence cut short after a '%' */
    assert_int_equal(load(&s, "u.yaml", "%\xe6"), SW_EINVAL);
    assert_error(&s, "u.yaml:1:2: not UTF-8 text (byte 0xE6)\n");
    sw_spec_free(&s);
    assert_int_equal(load(&s, "u.yaml", "kind: swarm\nname: \xc3\xa9\xed\xa0\x80\n"), SW_EINVAL);
    assert_error(&s, "u.yaml:2:8: not UTF-8 text (byte 0xED)\n");
    sw_spec_free(&s);

    assert_int_equal(load(&s, "h.yaml", "kind: swarm\nname: a\n? [k]\n: v\n"), SW_EINVAL);
    assert_error(&s, "h.yaml:3:3: a key must be a string, not a mapping or a list\n");
    sw_spec_free(&s);
}

static void test_anchors(void **state)
{
    static const char text[] = "kind: template\n"
                               "name: t\n"
                               "command: cat\n"
                               "capabilities: &caps [a, b]\n"
                               "labels: &l {team: x}\n"
                               "env: *l\n"
                               "---\n"
                               "kind: template\n"
                               "name: u\n"
                               "capabilities: *caps\n";
    static const char bomb[] = "kind: template\n"
                               "name: t\n"
                               "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                               "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                               "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                               "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                               "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                               "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    struct sw_spec s;

    /* anchors hold within their document only */
    assert_int_equal(load(&s, "a.yaml", text), SW_EINVAL);
    assert_int_equal(s.nobjects, 1);
    assert_json(json_object_get(s.objects[0].body, "env"), "{\"team\":\"x\"}");
    assert_error(&s, "a.yaml:10:16: alias *caps names no anchor defined before it\n");
    sw_spec_free(&s);

    assert_int_equal(load(&s, "bomb.yaml", bomb), SW_EINVAL);
    assert_error(&s, "aliases repeat more than 100000 nodes");
    sw_spec_free(&s);
}

static void test_error_limit(void **state)
{
    struct sw_buf text;
    struct sw_spec s;

    sw_buf_init(&text, 1 << 20);
    assert_int_equal(sw_buf_appendstr(&text, "kind: swarm\nname: a\n"), 0);
    for (int i = 0; i < SW_SPEC_MAX_ERRORS + 5; i++)
        assert_int_equal(sw_buf_appendf(&text, "bad%d: 1\n", i), 0);
    assert_int_equal(load(&s, "many.yaml", text.data), SW_EINVAL);
    assert_int_equal(s.nerrors, SW_SPEC_MAX_ERRORS + 5);
    assert_null(strstr(errors(&s), "bad20"));
    {
        char *printed = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&printed, &size);
        assert_non_null(out);
        sw_spec_print_errors(&s, out);
        fclose(out);
        assert_non_null(strstr(printed, "many.yaml:22:1: swarm \"a\": unknown field \"bad19\""));
        assert_non_null(strstr(printed, "\n(and 5 more errors)\n"));
        free(printed);
    }
    sw_spec_free(&s);
    sw_buf_free(&text);
}

static void test_files(void **state)
{
    char dir[] = "/tmp/test_cli_spec.XXXXXX", path[64];
    struct sw_spec s;
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("kind: template\nname: t\ncommand: cat\ncapabilities: [x]\n---\n", f);
    fclose(f);
    sw_spec_init(&s);
    assert_int_equal(sw_spec_load_file(&s, path), 0);
    assert_int_equal(s.nobjects, 1);
    assert_string_equal(s.objects[0].file, path);
    assert_int_equal(sw_spec_load_file(&s, "/nonexistent/s.yaml"), SW_EINVAL);
    assert_error(&s, "/nonexistent/s.yaml: cannot open: No such file or directory\n");
    assert_int_equal(sw_spec_load_file(&s, dir), SW_EINVAL);
    assert_error(&s, ": Is a directory\n");
    sw_spec_free(&s);
    unlink(path);
    rmdir(dir);
}

/* The names of the objects in order, as "t:a s:b". */
static void order_text(const struct sw_spec *s, char *out, size_t size)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < s->nobjects && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%c:%s", i ? " " : "",
                                s->objects[i].kind == SW_SPEC_TEMPLATE ? 't' : 's',
                                s->objects[i].name);
}

static void test_order(void **state)
{
    static const char first[] = "kind: swarm\nname: tiny\nparent: thumbs\ntemplate: w\n---\n"
                                "kind: swarm\nname: thumbs\nparent: media\ntemplate: w\n---\n"
                                "kind: swarm\nname: other\nparent: elsewhere\ntemplate: w\n";
    static const char second[] = "kind: swarm\nname: media\ntemplate: w\n---\n"
                                 "kind: template\nname: w\ncommand: cat\ncapabilities: [x]\n---\n";
    struct sw_spec s;
    char order[256];

    assert_int_equal(load(&s, "1.yaml", first), 0);
    assert_int_equal(sw_spec_load_text(&s, "2.yaml", second, strlen(second)), 0);
    assert_int_equal(sw_spec_order(&s), 0);
    order_text(&s, order, sizeof order);
    assert_string_equal(order, "t:w s:media s:thumbs s:tiny s:other");
    sw_spec_free(&s);
}

static void test_parent_loop(void **state)
{
    static const char loop[] = "kind: swarm\nname: a\nparent: b\ntemplate: w\n---\n"
                               "kind: swarm\nname: b\nparent: c\ntemplate: w\n---\n"
                               "kind: swarm\nname: c\nparent: a\ntemplate: w\n";
    static const char self[] = "kind: swarm\nname: a\ntemplate: w\nparent: a\n";
    struct sw_spec s;

    assert_int_equal(load(&s, "loop.yaml", loop), 0);
    assert_int_equal(sw_spec_order(&s), SW_EINVAL);
    assert_error(&s, "loop.yaml:3:1: swarm \"a\": parent \"b\" makes a loop");
    sw_spec_free(&s);

    assert_int_equal(load(&s, "self.yaml", self), 0);
    assert_int_equal(sw_spec_order(&s), SW_EINVAL);
    assert_error(&s, "self.yaml:4:1: swarm \"a\": parent \"a\" makes a loop");
    sw_spec_free(&s);
}

static void test_starter(void **state)
{
    struct sw_spec s;

    assert_int_equal(load(&s, "swarm.yaml", sw_starter_spec), 0);
    assert_int_equal(sw_spec_order(&s), 0);
    assert_int_equal(s.nobjects, 2);
    assert_int_equal(s.objects[0].kind, SW_SPEC_TEMPLATE);
    assert_string_equal(s.objects[0].name, "worker");
    assert_json(s.objects[0].body, "{\"capabilities\":[\"echo\"],\"command\":["
                                   "\"sh\",\"-c\",\"cat\"],\"mode\":\"exec\"}");
    assert_int_equal(s.objects[1].kind, SW_SPEC_SWARM);
    assert_string_equal(s.objects[1].name, "main");
    assert_json(s.objects[1].body, "{\"replicas\":2,\"template\":\"worker\"}");
    sw_spec_free(&s);
}

/* Every "# field: value" line of the starter, uncommented, is a known field,
 * and together they show every field of each kind. */
static void test_starter_all_fields(void **state)
{
    struct sw_buf text;
    const char *line = sw_starter_spec;
    struct sw_spec s;

    sw_buf_init(&text, 1 << 20);
    while (*line) {
        size_t len = strcspn(line, "\n"), key = 0;
        while (len > 2 && line[0] == '#' && line[1] == ' ' && 2 + key < len &&
               ((line[2 + key] >= 'a' && line[2 + key] <= 'z') || line[2 + key] == '_'))
            key++;
        int field = key > 0 && 2 + key + 1 < len && line[2 + key] == ':' && line[3 + key] == ' ';
        assert_int_equal(sw_buf_append(&text, line + (field ? 2 : 0), len - (field ? 2 : 0)), 0);
        assert_int_equal(sw_buf_append(&text, "\n", 1), 0);
        line += len + (line[len] == '\n');
    }
    if (load(&s, "all.yaml", text.data) != 0)
        fail_msg("%s", errors(&s));
    assert_int_equal(s.nobjects, 2);
    assert_int_equal(json_object_size(s.objects[0].body), 15);
    assert_int_equal(json_object_size(s.objects[1].body), 15);
    for (const char *const *f = template_fields; *f; f++)
        assert_non_null(json_object_get(s.objects[0].body, *f));
    for (const char *const *f = swarm_fields; *f; f++)
        assert_non_null(json_object_get(s.objects[1].body, *f));
    sw_spec_free(&s);
    sw_buf_free(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_collections_and_body),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_kind_and_name),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_defined_twice),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_anchors),
        cmocka_unit_test(test_error_limit),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_parent_loop),
        cmocka_unit_test(test_starter),
        cmocka_unit_test(test_starter_all_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
