/* SPDX-License-Identifier: MIT
 * spec_yaml.c - YAML text to JSON for spec files. libfyaml's event parser drives a
 * small builder: mappings become objects, lists arrays, a plain scalar that looks like
 * a JSON number, true/false or null becomes one and every other scalar a string;
 * anchors and aliases work within a document, under a ceiling on the nodes aliases
 * repeat. The place of every key and value is recorded by its path ("limits.memory",
 * "command[1]"), and each finished document goes to spec.c to be checked. */
#include "cli/spec_yaml.h"

#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX_DEPTH       64     /* nesting of mappings and lists */
#define SPEC_MAX_ALIAS_NODES 100000 /* nodes that aliases may repeat in one document */
#define SPEC_NUMBER_MAX      64     /* longer plain scalars stay strings */

/* A mapping or list being filled. */
struct spec_frame {
    json_t *value; /* borrowed: held by its parent, or by the builder as the root */
    char *key;     /* mapping: the key read, waiting for its value (owned); NULL = none */
    struct sw_spec_pos key_pos;
    size_t index;    /* list: index of the next item */
    size_t path_len; /* length of the builder's path outside this container */
    char *anchor;    /* owned; the container is registered under it when it ends */
};

/* One file's documents being turned into JSON, one document at a time. */
struct spec_builder {
    struct sw_spec *spec;
    const char *file;
    struct spec_frame frames[SPEC_MAX_DEPTH];
    int depth;
    json_t *root;    /* the document's value (owned) */
    json_t *marks;   /* path -> [key line, key column, value line, value column] (owned) */
    json_t *anchors; /* anchor name -> value (owned) */
    char path[SW__SPEC_PATH_MAX];
    size_t path_len;
    struct sw_spec_pos start;
    size_t alias_nodes;
    int ndocs; /* documents with content */
};

static struct sw_spec_pos mark_pos(const struct fy_mark *mark)
{
    struct sw_spec_pos pos = {0, 0};

    if (mark && mark->line >= 0 && mark->column >= 0) {
        pos.line = mark->line + 1;
        pos.column = mark->column + 1;
    }
    return pos;
}

/* Records an error at pos in the builder's file; returns SW_EINVAL. */
static int builder_fail(struct spec_builder *b, struct sw_spec_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int builder_fail(struct spec_builder *b, struct sw_spec_pos pos, const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    sw__spec_error(b->spec, b->file, pos, NULL, "%s", message);
    return SW_EINVAL;
}

/* Drops the document being built. */
static void builder_clear(struct spec_builder *b)
{
    while (b->depth > 0) {
        struct spec_frame *f = &b->frames[--b->depth];
        sw_free(f->key);
        sw_free(f->anchor);
    }
    json_decref(b->root);
    json_decref(b->marks);
    json_decref(b->anchors);
    b->root = b->marks = b->anchors = NULL;
    b->path_len = 0;
    b->path[0] = '\0';
    b->alias_nodes = 0;
    b->start.line = b->start.column = 0;
}

static int builder_begin(struct spec_builder *b)
{
    builder_clear(b);
    b->marks = json_object();
    b->anchors = json_object();
    return b->marks && b->anchors ? 0 : SW_ENOMEM;
}

static int is_word(const char *text, size_t len, const char *const *words)
{
    for (; *words; words++)
        if (strlen(*words) == len && memcmp(*words, text, len) == 0)
            return 1;
    return 0;
}

/* Index of the first byte at or after i in text that is not a digit. */
static size_t skip_digits(const char *text, size_t len, size_t i)
{
    while (i < len && text[i] >= '0' && text[i] <= '9')
        i++;
    return i;
}

/* Whether text is a JSON number; *integer tells whether it has no fraction or
 * exponent. */
static int is_json_number(const char *text, size_t len, int *integer)
{
    size_t i = len > 0 && text[0] == '-', end;

    *integer = 1;
    end = skip_digits(text, len, i);
    if (end == i || (text[i] == '0' && end > i + 1))
        return 0; /* no digits, or a leading zero */
    i = end;
    if (i < len && text[i] == '.') {
        *integer = 0;
        end = skip_digits(text, len, ++i);
        if (end == i)
            return 0;
        i = end;
    }
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        *integer = 0;
        i++;
        if (i < len && (text[i] == '+' || text[i] == '-'))
            i++;
        end = skip_digits(text, len, i);
        if (end == i)
            return 0;
        i = end;
    }
    return i == len;
}

/* The JSON value of a plain scalar (new reference; NULL = no memory). */
static json_t *plain_scalar(const char *text, size_t len)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    char number[SPEC_NUMBER_MAX + 1];
    long long value;
    int integer;

    if (is_word(text, len, nulls))
        return json_null();
    if (is_word(text, len, trues))
        return json_true();
    if (is_word(text, len, falses))
        return json_false();
    if (len > SPEC_NUMBER_MAX || !is_json_number(text, len, &integer))
        return json_stringn(text, len);
    memcpy(number, text, len);
    number[len] = '\0';
    errno = 0;
    value = integer ? strtoll(number, NULL, 10) : 0;
    if (integer && errno != ERANGE)
        return json_integer((json_int_t)value);
    return json_real(strtod(number, NULL));
}

/* Checks the tag of a node: a scalar may carry !!str (or the non-specific "!"), a
 * mapping !!map, a list !!seq. *as_string is set for a scalar that must stay text. */
static int check_tag(struct spec_builder *b, struct fy_token *tag, const char *allowed,
                     struct sw_spec_pos pos, int *as_string)
{
    const char *name;
    char full[64];

    if (tag == NULL)
        return 0;
    name = fy_token_get_text0(tag);
    if (name == NULL)
        return SW_ENOMEM;
    snprintf(full, sizeof full, "tag:yaml.org,2002:%s", allowed);
    if (strcmp(name, full) == 0 || (strcmp(allowed, "str") == 0 && strcmp(name, "!") == 0)) {
        *as_string = 1;
        return 0;
    }
    if (mark_pos(fy_token_start_mark(tag)).line > 0)
        pos = mark_pos(fy_token_start_mark(tag));
    return builder_fail(b, pos, "unsupported tag %s here (only !!%s)", name, allowed);
}

/* Counts the nodes of v, stopping past limit. */
static size_t count_nodes(const json_t *v, size_t limit)
{
    size_t n = 1, i;
    const char *key;
    json_t *child;

    if (json_is_array(v)) {
        json_array_foreach(v, i, child)
        {
            if (n > limit)
                break;
            n += count_nodes(child, limit - n);
        }
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, child)
        {
            if (n > limit)
                break;
            n += count_nodes(child, limit - n);
        }
    }
    return n;
}

static int alias_value(struct spec_builder *b, struct fy_event *e, struct sw_spec_pos pos,
                       json_t **out)
{
    const char *name = fy_token_get_text0(e->alias.anchor);
    json_t *value = name ? json_object_get(b->anchors, name) : NULL;

    if (name == NULL)
        return SW_ENOMEM;
    if (value == NULL)
        return builder_fail(b, pos, "alias *%s names no anchor defined before it", name);
    b->alias_nodes += count_nodes(value, SPEC_MAX_ALIAS_NODES);
    if (b->alias_nodes > SPEC_MAX_ALIAS_NODES)
        return builder_fail(b, pos, "aliases repeat more than %d nodes", SPEC_MAX_ALIAS_NODES);
    *out = json_incref(value);
    return 0;
}

static int scalar_value(struct spec_builder *b, struct fy_event *e, struct sw_spec_pos pos,
                        json_t **out)
{
    size_t len = 0;
    const char *text = fy_token_get_text(e->scalar.value, &len);
    int as_string = fy_token_scalar_style(e->scalar.value) != FYSS_PLAIN;
    int rc = check_tag(b, e->scalar.tag, "str", pos, &as_string);

    if (rc)
        return rc;
    if (text == NULL)
        text = "";
    *out = as_string ? json_stringn(text, len) : plain_scalar(text, len);
    if (*out == NULL)
        return builder_fail(b, pos, "not valid UTF-8 text");
    return 0;
}

/* Makes the value of a node event (new reference): a scalar, an alias's value, or an
 * empty mapping or list to be filled. */
static int node_value(struct spec_builder *b, struct fy_event *e, struct sw_spec_pos pos,
                      json_t **out)
{
    int ignored = 0, rc = 0;

    *out = NULL;
    if (e->type == FYET_SCALAR)
        return scalar_value(b, e, pos, out);
    if (e->type == FYET_ALIAS)
        return alias_value(b, e, pos, out);
    if (e->type == FYET_MAPPING_START) {
        rc = check_tag(b, e->mapping_start.tag, "map", pos, &ignored);
        *out = rc ? NULL : json_object();
    } else {
        rc = check_tag(b, e->sequence_start.tag, "seq", pos, &ignored);
        *out = rc ? NULL : json_array();
    }
    return rc ? rc : *out ? 0 : SW_ENOMEM;
}

/* Reads the key of the next pair of the mapping on top. */
static int builder_key(struct spec_builder *b, struct spec_frame *top, struct fy_event *e,
                       struct sw_spec_pos pos)
{
    char path[SW__SPEC_PATH_MAX];
    struct sw_spec_pos first;
    size_t len = 0;
    const char *text;

    if (e->type != FYET_SCALAR)
        return builder_fail(b, pos, "a key must be a string, not %s",
                            e->type == FYET_ALIAS ? "an alias" : "a mapping or a list");
    text = fy_token_get_text(e->scalar.value, &len);
    if (text == NULL || len == 0)
        return builder_fail(b, pos, "empty key");
    if (memchr(text, '\0', len))
        return builder_fail(b, pos, "a key must not hold a NUL character");
    if (json_object_getn(top->value, text, len)) {
        snprintf(path, sizeof path, "%.*s%s%.*s", (int)b->path_len, b->path, b->path_len ? "." : "",
                 (int)len, text);
        if (sw__spec_marks_pos(b->marks, path, 0, &first))
            return builder_fail(b, pos, "duplicate key \"%.*s\" (first at line %d, column %d)",
                                (int)len, text, first.line, first.column);
        return builder_fail(b, pos, "duplicate key \"%.*s\"", (int)len, text);
    }
    top->key = sw_strndup(text, len);
    top->key_pos = pos;
    return top->key ? 0 : SW_ENOMEM;
}

/* Extends the path to the value about to be added (at pos) and records its mark. */
static int builder_enter(struct spec_builder *b, struct spec_frame *top, struct sw_spec_pos pos)
{
    size_t room = sizeof b->path - b->path_len;
    struct sw_spec_pos key_pos = pos;
    json_t *mark;
    int n;

    if (top == NULL)
        return 0;
    if (json_is_object(top->value)) {
        n = snprintf(b->path + b->path_len, room, "%s%s", b->path_len ? "." : "", top->key);
        key_pos = top->key_pos;
    } else {
        n = snprintf(b->path + b->path_len, room, "[%zu]", top->index);
    }
    if (n < 0 || (size_t)n >= room) {
        b->path[b->path_len] = '\0';
        return builder_fail(b, key_pos, "keys nested too long (over %d characters)",
                            SW__SPEC_PATH_MAX - 1);
    }
    b->path_len += (size_t)n;
    if (pos.line == 0)
        pos = key_pos; /* an empty value has no place of its own */
    mark = json_pack("[iiii]", key_pos.line, key_pos.column, pos.line, pos.column);
    return mark && json_object_set_new(b->marks, b->path, mark) == 0 ? 0 : SW_ENOMEM;
}

/* Adds value (stolen) to the container on top, or makes it the document's root. */
static int builder_put(struct spec_builder *b, struct spec_frame *top, json_t *value)
{
    int rc;

    if (top == NULL) {
        b->root = value;
        return 0;
    }
    if (json_is_object(top->value)) {
        rc = json_object_set_new(top->value, top->key, value);
        sw_free(top->key);
        top->key = NULL;
    } else {
        rc = json_array_append_new(top->value, value);
        top->index++;
    }
    return rc ? SW_ENOMEM : 0;
}

static const char *event_anchor(struct fy_event *e)
{
    struct fy_token *anchor = e->type == FYET_SCALAR           ? e->scalar.anchor
                              : e->type == FYET_MAPPING_START  ? e->mapping_start.anchor
                              : e->type == FYET_SEQUENCE_START ? e->sequence_start.anchor
                                                               : NULL;
    return anchor ? fy_token_get_text0(anchor) : NULL;
}

/* Starts filling container (borrowed); path_len is the path outside it. */
static int builder_push(struct spec_builder *b, json_t *container, size_t path_len,
                        const char *anchor, struct sw_spec_pos pos)
{
    struct spec_frame *f;

    if (b->depth == SPEC_MAX_DEPTH)
        return builder_fail(b, pos, "nested deeper than %d levels", SPEC_MAX_DEPTH);
    f = &b->frames[b->depth++];
    memset(f, 0, sizeof *f);
    f->value = container;
    f->path_len = path_len;
    if (anchor && (f->anchor = sw_strdup(anchor)) == NULL)
        return SW_ENOMEM;
    return 0;
}

/* A scalar, an alias, or the start of a mapping or list. */
static int builder_node(struct spec_builder *b, struct fy_event *e)
{
    struct spec_frame *top = b->depth ? &b->frames[b->depth - 1] : NULL;
    struct sw_spec_pos pos = mark_pos(fy_event_start_mark(e));
    int container = e->type == FYET_MAPPING_START || e->type == FYET_SEQUENCE_START;
    const char *anchor = event_anchor(e);
    size_t outside = b->path_len;
    json_t *value = NULL;
    int rc;

    if (top && json_is_object(top->value) && top->key == NULL)
        return builder_key(b, top, e, pos);
    if (top == NULL)
        b->start = pos;
    rc = builder_enter(b, top, pos);
    if (rc == 0)
        rc = node_value(b, e, pos, &value);
    if (rc == 0 && anchor && !container)
        rc = json_object_set(b->anchors, anchor, value) ? SW_ENOMEM : 0;
    if (rc) {
        json_decref(value);
        return rc;
    }
    rc = builder_put(b, top, value);
    if (rc == 0 && container)
        return builder_push(b, value, outside, anchor, pos);
    b->path_len = outside;
    b->path[outside] = '\0';
    return rc;
}

/* The end of a mapping or list. */
static int builder_pop(struct spec_builder *b)
{
    struct spec_frame *f;
    int rc = 0;

    if (b->depth == 0)
        return 0;
    f = &b->frames[--b->depth];
    if (f->anchor && json_object_set(b->anchors, f->anchor, f->value))
        rc = SW_ENOMEM;
    sw_free(f->anchor);
    sw_free(f->key);
    b->path_len = f->path_len;
    b->path[b->path_len] = '\0';
    return rc;
}

static int builder_end(struct spec_builder *b)
{
    json_t *root = b->root, *marks = b->marks;

    if (root == NULL || json_is_null(root))
        return 0; /* an empty document, as after a final "---" */
    b->ndocs++;
    b->root = b->marks = NULL;
    return sw__spec_add_document(b->spec, b->file, root, marks, b->start);
}

static int builder_event(struct spec_builder *b, struct fy_event *e)
{
    switch (e->type) {
    case FYET_DOCUMENT_START:
        return builder_begin(b);
    case FYET_DOCUMENT_END:
        return builder_end(b);
    case FYET_SCALAR:
    case FYET_ALIAS:
    case FYET_MAPPING_START:
    case FYET_SEQUENCE_START:
        return builder_node(b, e);
    case FYET_MAPPING_END:
    case FYET_SEQUENCE_END:
        return builder_pop(b);
    default:
        return 0;
    }
}

static void diag_discard_cb(struct fy_diag *diag, void *user, const char *buf, size_t len) {}

/* Reports the first YAML error libfyaml collected (its positions are 1-based). */
static void report_syntax(struct sw_spec *s, const char *file, struct fy_diag *diag)
{
    struct fy_diag_error *err;
    void *iter = NULL;

    while ((err = fy_diag_errors_iterate(diag, &iter)) != NULL) {
        if (err->type < FYET_ERROR)
            continue;
        struct sw_spec_pos pos = {err->line > 0 ? err->line : 0, err->column > 0 ? err->column : 1};
        sw__spec_error(s, file, pos, NULL, "%s", err->msg ? err->msg : "YAML syntax error");
        return;
    }
    sw__spec_error(s, file, (struct sw_spec_pos){0, 0}, NULL, "YAML syntax error");
}

/* Length of the UTF-8 sequence at p (at most n bytes), 0 when it is not valid: no
 * overlong forms, surrogates or code points past U+10FFFF. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80                    ? 1
                 : p[0] >= 0xC2 && p[0] <= 0xDF ? 2
                 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
                 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4
                                                : 0;

    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] > 0x9F) ||
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] > 0x8F))
        return 0;
    return len;
}

/* Reports the first byte of text that is not UTF-8 (libfyaml may loop on some, as a
 * sequence cut short at the end); SW_EINVAL then, else 0. */
static int check_utf8(struct sw_spec *s, const char *file, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    struct sw_spec_pos pos = {1, 1};
    size_t i = 0, n;

    while (i < len && (n = utf8_sequence(p + i, len - i)) != 0) {
        pos.line += p[i] == '\n';
        pos.column = p[i] == '\n' ? 1 : pos.column + 1;
        i += n;
    }
    if (i == len)
        return 0;
    sw__spec_error(s, file, pos, NULL, "not UTF-8 text (byte 0x%02X)", p[i]);
    return SW_EINVAL;
}

int sw__spec_yaml_read(struct sw_spec *s, const char *file, const char *text, size_t len,
                       int *ndocs)
{
    struct spec_builder b = {.spec = s, .file = file};
    struct fy_parser *parser = NULL;
    struct fy_parse_cfg parse_cfg;
    struct fy_diag_cfg diag_cfg;
    struct fy_diag *diag;
    struct fy_event *e;
    int rc = SW_ENOMEM;

    *ndocs = 0;
    if (check_utf8(s, file, text, len))
        return SW_EINVAL;
    fy_diag_cfg_default(&diag_cfg);
    diag_cfg.fp = NULL;
    diag_cfg.output_fn = diag_discard_cb;
    diag_cfg.level = FYET_ERROR;
    diag_cfg.colorize = false;
    diag = fy_diag_create(&diag_cfg);
    if (diag == NULL)
        return SW_ENOMEM;
    fy_diag_set_collect_errors(diag, true);
    memset(&parse_cfg, 0, sizeof parse_cfg);
    parse_cfg.diag = diag;
    parser = fy_parser_create(&parse_cfg);
    if (parser == NULL || fy_parser_set_string(parser, len ? text : "", len) != 0)
        goto out;
    rc = 0;
    while (rc == 0 && (e = fy_parser_parse(parser)) != NULL) {
        rc = builder_event(&b, e);
        fy_parser_event_free(parser, e);
    }
    if (rc == 0 && fy_parser_get_stream_error(parser)) {
        report_syntax(s, file, diag);
        rc = SW_EINVAL;
    }
out:
    builder_clear(&b);
    *ndocs = b.ndocs;
    if (parser)
        fy_parser_destroy(parser);
    fy_diag_destroy(diag);
    return rc;
}
