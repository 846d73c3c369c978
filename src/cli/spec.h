/* SPDX-License-Identifier: MIT
 * spec.h - spec files for "swarm apply": YAML documents, each a flat mapping of kind
 * (template or swarm), name and the fields of that kind (docs/spec.md), read into one
 * JSON body per object with the position of every key kept, so that a refusal, ours
 * or the daemon's, can name FILE:LINE:COLUMN. Only what needs no daemon is checked
 * here: YAML syntax, kind, name, unknown fields, an object defined twice, and a loop
 * of parents. The fields of a set are read-only to its users. */
#ifndef SW_CLI_SPEC_H
#define SW_CLI_SPEC_H

#include "core/buf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define SW_SPEC_MAX_BYTES  ((size_t)16 << 20) /* a larger spec file is refused */
#define SW_SPEC_MAX_ERRORS 20                 /* errors listed; more are counted */
#define SW_SPEC_NAME_MAX   63                 /* [a-z0-9][a-z0-9._-]{0,62} */

enum sw_spec_kind {
    SW_SPEC_TEMPLATE,
    SW_SPEC_SWARM,
};

/* A place in a file, both 1-based; line 0 = unknown. */
struct sw_spec_pos {
    int line;
    int column;
};

/* One document of a spec file. */
struct sw_spec_object {
    enum sw_spec_kind kind;
    char *name;
    const char *file;         /* as named on the command line; owned by the set */
    json_t *body;             /* the fields without kind and name (owned) */
    json_t *marks;            /* {"path": [key line, key column, value line, value
                                 column]} for "replicas", "limits.memory", "command[1]" */
    struct sw_spec_pos start; /* where the document's mapping starts */
};

/* The objects of one invocation, from every file read. */
struct sw_spec {
    struct sw_spec_object *objects; /* in file order; in apply order after sw_spec_order */
    size_t nobjects;
    size_t cap;
    char **files; /* the names given, owned */
    size_t nfiles;
    struct sw_buf errors; /* one "FILE:LINE:COL: message" line per error */
    int nerrors;
};

void sw_spec_init(struct sw_spec *s);
void sw_spec_free(struct sw_spec *s);

/* Reads every document of path ("-" = standard input) into s. Returns 0; SW_EINVAL
 * when the file has errors (listed in s->errors; the documents before a YAML syntax
 * error are kept, the others are checked on); SW_ENOMEM. */
int sw_spec_load_file(struct sw_spec *s, const char *path);
/* The same for text already read; file names it in messages. */
int sw_spec_load_text(struct sw_spec *s, const char *file, const char *text, size_t len);

/* Prints the errors found, one per line, and how many more there were. */
void sw_spec_print_errors(const struct sw_spec *s, FILE *out);

/* Puts the objects in the order they are to be applied: templates first, then swarms,
 * each parent before its children when both are in the set; file order otherwise.
 * 0; SW_EINVAL for a loop of parents (listed in s->errors); SW_ENOMEM. */
int sw_spec_order(struct sw_spec *s);

/* "template" or "swarm". */
const char *sw_spec_kind_name(enum sw_spec_kind kind);

/* Where field is in o's document: the key of field ("replicas", "limits.memory",
 * "command[1]"); else a key deeper down that ends the same way ("memory" finds
 * "limits.memory"); else the nearest enclosing key ("limits"); else the start of the
 * document. field may be NULL. */
struct sw_spec_pos sw_spec_field_pos(const struct sw_spec_object *o, const char *field);

#endif
