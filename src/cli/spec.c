/* SPDX-License-Identifier: MIT
 * spec.c - the set of spec objects of one "swarm apply": files read (their YAML turned
 * into JSON by spec_yaml.c), each document checked against the fields of its kind,
 * errors kept as "FILE:LINE:COL: KIND \"NAME\": message" lines, the place of a field
 * found for the daemon's refusals, and the objects ordered for applying: templates,
 * then swarms, parents before children. */
#include "cli/spec.h"

#include "cli/spec_yaml.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_ERRORS_MAX ((size_t)64 << 10)
#define SPEC_WHAT_MAX   160 /* "swarm \"media\"" */

static const char *const template_fields[] = {
    "command",      "mode",          "capabilities", "slots",  "env",    "workdir",
    "restart",      "backoff",       "stop_grace",   "health", "limits", "sandbox",
    "idle_timeout", "cost_per_hour", "labels",       NULL,
};

static const char *const swarm_fields[] = {
    "parent",     "template", "replicas",   "scale", "strategy", "intensity",
    "topology",   "isolated", "delegation", "queen", "labels",   "max_queue",
    "rate_limit", "budget",   "routing",    NULL,
};

const char *sw_spec_kind_name(enum sw_spec_kind kind)
{
    return kind == SW_SPEC_TEMPLATE ? "template" : "swarm";
}

void sw_spec_init(struct sw_spec *s)
{
    memset(s, 0, sizeof *s);
    sw_buf_init(&s->errors, SPEC_ERRORS_MAX);
}

void sw_spec_free(struct sw_spec *s)
{
    for (size_t i = 0; i < s->nobjects; i++) {
        sw_free(s->objects[i].name);
        json_decref(s->objects[i].body);
        json_decref(s->objects[i].marks);
    }
    for (size_t i = 0; i < s->nfiles; i++)
        sw_free(s->files[i]);
    sw_free(s->objects);
    sw_free(s->files);
    sw_buf_free(&s->errors);
    memset(s, 0, sizeof *s);
}

void sw__spec_error(struct sw_spec *s, const char *file, struct sw_spec_pos pos, const char *what,
                    const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    if (s->nerrors++ >= SW_SPEC_MAX_ERRORS)
        return;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (pos.line > 0)
        sw_buf_appendf(&s->errors, "%s:%d:%d: ", file, pos.line, pos.column);
    else
        sw_buf_appendf(&s->errors, "%s: ", file);
    sw_buf_appendf(&s->errors, "%s%s%s\n", what ? what : "", what ? ": " : "", message);
}

void sw_spec_print_errors(const struct sw_spec *s, FILE *out)
{
    if (s->errors.len)
        fputs(s->errors.data, out);
    if (s->nerrors > SW_SPEC_MAX_ERRORS)
        fprintf(out, "(and %d more errors)\n", s->nerrors - SW_SPEC_MAX_ERRORS);
}

int sw__spec_marks_pos(const json_t *marks, const char *path, int which, struct sw_spec_pos *pos)
{
    const json_t *mark = json_object_get(marks, path);

    if (!json_is_array(mark))
        return 0;
    pos->line = (int)json_integer_value(json_array_get(mark, (size_t)which));
    pos->column = (int)json_integer_value(json_array_get(mark, (size_t)which + 1));
    return pos->line > 0;
}

/* Finds a key whose path starts with the components of field but its last, and ends
 * with that last one: "memory" finds "limits.memory", "template.memory" finds
 * "template.limits.memory" (for a daemon that names only the innermost key). */
static int find_leaf(const json_t *marks, const char *field, struct sw_spec_pos *pos)
{
    const char *dot = strrchr(field, '.'), *leaf = dot ? dot + 1 : field;
    size_t prefix = dot ? (size_t)(dot - field) + 1 : 0, leaf_len = strlen(leaf);
    const char *path;
    json_t *mark;

    json_object_foreach((json_t *)marks, path, mark)
    {
        size_t len = strlen(path);
        if (len <= prefix + leaf_len || strncmp(path, field, prefix) != 0 ||
            path[len - leaf_len - 1] != '.' || strcmp(path + len - leaf_len, leaf) != 0)
            continue;
        if (sw__spec_marks_pos(marks, path, 0, pos))
            return 1;
    }
    return 0;
}

struct sw_spec_pos sw_spec_field_pos(const struct sw_spec_object *o, const char *field)
{
    char path[SW__SPEC_PATH_MAX];
    struct sw_spec_pos pos;
    size_t len;

    snprintf(path, sizeof path, "%s", field ? field : "");
    if (path[0] && !sw__spec_marks_pos(o->marks, path, 0, &pos) && find_leaf(o->marks, path, &pos))
        return pos;
    for (len = strlen(path); len > 0;) {
        if (sw__spec_marks_pos(o->marks, path, 0, &pos))
            return pos;
        while (len > 0 && path[len] != '.' && path[len] != '[')
            len--;
        path[len] = '\0';
    }
    return o->start;
}

/* ---- checking one document ----------------------------------------------------- */

static int name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > SW_SPEC_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !strchr("._-", c)))
            return 0;
    }
    return 1;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Levenshtein distance of two short words (longer ones are far apart). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];

    if (la >= 63 || lb >= 63)
        return 64;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            row[j] = min3(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1]));
            diagonal = above;
        }
    }
    return row[lb];
}

static int in_list(const char *word, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(*list, word) == 0)
            return 1;
    return 0;
}

/* Writes the hint after "unknown field KEY": the nearest field when it is close, else
 * the fields of the kind. */
static void field_hint(const char *key, const char *const *fields, const char *kind, char *out,
                       size_t size)
{
    const char *best = NULL;
    size_t best_distance = 3, len = 0;

    for (const char *const *f = fields; *f; f++) {
        size_t d = edit_distance(key, *f);
        if (d < best_distance && d < strlen(*f)) {
            best = *f;
            best_distance = d;
        }
    }
    if (best) {
        snprintf(out, size, " (did you mean \"%s\"?)", best);
        return;
    }
    len = (size_t)snprintf(out, size, " (%s fields:", kind);
    for (const char *const *f = fields; *f && len < size; f++)
        len += (size_t)snprintf(out + len, size - len, " %s%s", *f, f[1] ? "," : ")");
}

/* Reports every key of obj (at path prefix, "" for the top) that is not in fields. */
static void check_fields(struct sw_spec *s, const struct sw_spec_object *o, const char *what,
                         const json_t *obj, const char *prefix, const char *const *fields,
                         const char *kind)
{
    const char *const *other = fields == swarm_fields ? template_fields : swarm_fields;
    char path[SW__SPEC_PATH_MAX], hint[512];
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)obj, key, value)
    {
        if (!*prefix && (strcmp(key, "kind") == 0 || strcmp(key, "name") == 0))
            continue;
        if (in_list(key, fields))
            continue;
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
        if (!*prefix && in_list(key, other))
            snprintf(hint, sizeof hint, " (a field of a %s, not of a %s)",
                     fields == swarm_fields ? "template" : "swarm", kind);
        else
            field_hint(key, fields, kind, hint, sizeof hint);
        sw__spec_error(s, o->file, sw_spec_field_pos(o, path), what, "unknown field \"%s\"%s", path,
                       hint);
    }
}

/* Reports a name that is not valid, or that another document of the kind has. */
static void check_name(struct sw_spec *s, const struct sw_spec_object *o, const char *what,
                       struct sw_spec_pos at)
{
    if (!name_valid(o->name)) {
        sw__spec_error(
            s, o->file, at, what,
            "name must be 1 to %d characters of a-z, 0-9, '.', '_' and '-', starting with "
            "a letter or digit",
            SW_SPEC_NAME_MAX);
        return;
    }
    for (size_t i = 0; i < s->nobjects; i++) {
        const struct sw_spec_object *first = &s->objects[i];
        struct sw_spec_pos pos;
        if (first->kind != o->kind || strcmp(first->name, o->name) != 0)
            continue;
        if (!sw__spec_marks_pos(first->marks, "name", 2, &pos))
            pos = first->start;
        sw__spec_error(s, o->file, at, what, "defined twice (first at %s:%d:%d)", first->file,
                       pos.line, pos.column);
        return;
    }
}

/* Writes v as compact JSON, cut short with "..." when it does not fit. */
static void value_text(const json_t *v, char *out, size_t size)
{
    size_t n = v ? json_dumpb(v, out, size - 1, JSON_COMPACT | JSON_ENCODE_ANY) : 0;

    if (n < size - 1 || size < 8) {
        out[n < size ? n : size - 1] = '\0';
        return;
    }
    n = size - 4;
    while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
        n--; /* do not cut a UTF-8 sequence */
    memcpy(out + n, "...", 4);
}

/* Reads kind and name from root into o; reports what is wrong with them. Returns 0
 * when o can be checked further. */
static int check_head(struct sw_spec *s, struct sw_spec_object *o, const json_t *root)
{
    const json_t *kind = json_object_get(root, "kind"), *name = json_object_get(root, "name");
    const char *kind_text = json_string_value(kind);
    struct sw_spec_pos at;
    char text[64] = "";

    if (!sw__spec_marks_pos(o->marks, "kind", 2, &at))
        at = o->start;
    if (kind_text == NULL || (strcmp(kind_text, "template") && strcmp(kind_text, "swarm"))) {
        value_text(kind, text, sizeof text);
        sw__spec_error(s, o->file, at, NULL,
                       kind ? "kind must be \"template\" or \"swarm\", not %s"
                            : "missing \"kind\" (template or swarm)%s",
                       kind ? text : "");
        return SW_EINVAL;
    }
    o->kind = strcmp(kind_text, "template") == 0 ? SW_SPEC_TEMPLATE : SW_SPEC_SWARM;
    if (!sw__spec_marks_pos(o->marks, "name", 2, &at))
        at = o->start;
    if (!json_is_string(name)) {
        sw__spec_error(s, o->file, at, kind_text,
                       name ? "name must be a string" : "missing \"name\"");
        return SW_EINVAL;
    }
    o->name = sw_strdup(json_string_value(name));
    return o->name ? 0 : SW_ENOMEM;
}

static int spec_grow(struct sw_spec *s)
{
    size_t cap = s->cap ? s->cap * 2 : 8;
    struct sw_spec_object *grown;

    if (s->nobjects < s->cap)
        return 0;
    grown = sw_realloc(s->objects, cap * sizeof *grown);
    if (grown == NULL)
        return SW_ENOMEM;
    s->objects = grown;
    s->cap = cap;
    return 0;
}

int sw__spec_add_document(struct sw_spec *s, const char *file, json_t *root, json_t *marks,
                          struct sw_spec_pos start)
{
    struct sw_spec_object o = {.file = file, .body = root, .marks = marks, .start = start};
    const json_t *inline_template;
    char what[SPEC_WHAT_MAX];
    struct sw_spec_pos at;
    int rc = SW_EINVAL;

    if (!json_is_object(root))
        sw__spec_error(s, file, start, NULL,
                       "a document must be a mapping: kind, name, then fields");
    else
        rc = check_head(s, &o, root);
    if (rc)
        goto out;
    snprintf(what, sizeof what, "%s \"%s\"", sw_spec_kind_name(o.kind), o.name);
    if (!sw__spec_marks_pos(marks, "name", 2, &at))
        at = start;
    check_name(s, &o, what, at);
    check_fields(s, &o, what, root, "", o.kind == SW_SPEC_SWARM ? swarm_fields : template_fields,
                 sw_spec_kind_name(o.kind));
    for (int i = 0; o.kind == SW_SPEC_SWARM && i < 2; i++) {
        const char *field = i == 0 ? "template" : "queen";
        inline_template = json_object_get(root, field);
        if (json_is_object(inline_template))
            check_fields(s, &o, what, inline_template, field, template_fields, "template");
    }
    json_object_del(root, "kind");
    json_object_del(root, "name");
    rc = spec_grow(s);
    if (rc)
        goto out;
    s->objects[s->nobjects++] = o;
    return 0;
out:
    sw_free(o.name);
    json_decref(root);
    json_decref(marks);
    return rc == SW_ENOMEM ? rc : 0;
}

/* Keeps a copy of file's name for the objects and messages; NULL = no memory. */
static const char *spec_add_file(struct sw_spec *s, const char *file)
{
    char **grown = sw_realloc(s->files, (s->nfiles + 1) * sizeof *grown);

    if (grown == NULL)
        return NULL;
    s->files = grown;
    s->files[s->nfiles] = sw_strdup(file);
    return s->files[s->nfiles] ? s->files[s->nfiles++] : NULL;
}

int sw_spec_load_text(struct sw_spec *s, const char *file, const char *text, size_t len)
{
    int before = s->nerrors, ndocs = 0, rc;
    const char *name = spec_add_file(s, file);

    if (name == NULL)
        return SW_ENOMEM;
    rc = sw__spec_yaml_read(s, name, text, len, &ndocs);
    if (rc == 0 && ndocs == 0 && s->nerrors == before)
        sw__spec_error(s, name, (struct sw_spec_pos){0, 0}, NULL,
                       "no documents (each needs kind and name)");
    if (rc == SW_ENOMEM)
        return rc;
    return s->nerrors > before ? SW_EINVAL : 0;
}

/* Reads all of f into text, at most SW_SPEC_MAX_BYTES. */
static int read_all(FILE *f, struct sw_buf *text)
{
    char chunk[16384];
    size_t n;
    int rc;

    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = sw_buf_append(text, chunk, n)) != 0)
            return rc;
    return ferror(f) ? SW_EIO : 0;
}

int sw_spec_load_file(struct sw_spec *s, const char *path)
{
    int from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "<stdin>" : path;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    struct sw_buf text;
    int rc, saved_errno;

    if (f == NULL) {
        sw__spec_error(s, name, (struct sw_spec_pos){0, 0}, NULL, "cannot open: %s",
                       strerror(errno));
        return SW_EINVAL;
    }
    sw_buf_init(&text, SW_SPEC_MAX_BYTES);
    errno = 0;
    rc = read_all(f, &text);
    saved_errno = errno;
    if (f != stdin)
        fclose(f);
    if (rc == SW_ETOO_LARGE || rc == SW_EIO) {
        sw__spec_error(s, name, (struct sw_spec_pos){0, 0}, NULL, "%s",
                       rc == SW_EIO ? strerror(saved_errno ? saved_errno : EIO)
                                    : "larger than 16 MiB");
        rc = SW_EINVAL;
    } else if (rc == 0) {
        rc = sw_spec_load_text(s, name, text.data, text.len);
    }
    sw_buf_free(&text);
    return rc;
}

/* ---- apply order ---------------------------------------------------------------- */

/* Index of the swarm called name, or s->nobjects. */
static size_t find_swarm(const struct sw_spec *s, const char *name)
{
    size_t i;

    for (i = 0; name && i < s->nobjects; i++)
        if (s->objects[i].kind == SW_SPEC_SWARM && strcmp(s->objects[i].name, name) == 0)
            break;
    return name ? i : s->nobjects;
}

static const char *parent_of(const struct sw_spec_object *o)
{
    return json_string_value(json_object_get(o->body, "parent"));
}

/* Appends swarm i to order after its ancestors in the set that are not in it yet
 * (state: 0 = not placed, 1 = on the chain being walked, 2 = placed). */
static int place_swarm(struct sw_spec *s, size_t i, unsigned char *state, size_t *chain,
                       struct sw_spec_object *order, size_t *n)
{
    size_t depth = 0, at = i;

    while (at < s->nobjects && state[at] == 0) {
        state[at] = 1;
        chain[depth++] = at;
        at = find_swarm(s, parent_of(&s->objects[at]));
    }
    if (at < s->nobjects && state[at] == 1) {
        const struct sw_spec_object *o = &s->objects[at];
        char what[SPEC_WHAT_MAX];
        snprintf(what, sizeof what, "swarm \"%s\"", o->name);
        sw__spec_error(s, o->file, sw_spec_field_pos(o, "parent"), what,
                       "parent \"%s\" makes a loop: a swarm cannot be its own ancestor",
                       parent_of(o));
        return SW_EINVAL;
    }
    while (depth > 0) {
        at = chain[--depth];
        state[at] = 2;
        order[(*n)++] = s->objects[at];
    }
    return 0;
}

int sw_spec_order(struct sw_spec *s)
{
    struct sw_spec_object *order = sw_calloc(s->nobjects + 1, sizeof *order);
    unsigned char *state = sw_calloc(s->nobjects + 1, 1);
    size_t *chain = sw_calloc(s->nobjects + 1, sizeof *chain);
    size_t n = 0;
    int rc = order && state && chain ? 0 : SW_ENOMEM;

    for (size_t i = 0; rc == 0 && i < s->nobjects; i++)
        if (s->objects[i].kind == SW_SPEC_TEMPLATE)
            order[n++] = s->objects[i];
    for (size_t i = 0; rc == 0 && i < s->nobjects; i++)
        if (s->objects[i].kind == SW_SPEC_SWARM)
            rc = place_swarm(s, i, state, chain, order, &n);
    if (rc == 0 && s->nobjects > 0)
        memcpy(s->objects, order, s->nobjects * sizeof *order);
    sw_free(order);
    sw_free(state);
    sw_free(chain);
    return rc;
}
