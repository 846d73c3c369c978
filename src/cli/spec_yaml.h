/* SPDX-License-Identifier: MIT
 * spec_yaml.h - between the two files of the spec module (spec.c, spec_yaml.c), not
 * for other users: the YAML reader, and what it calls back in spec.c for errors and
 * finished documents. */
#ifndef SW_CLI_SPEC_YAML_H
#define SW_CLI_SPEC_YAML_H

#include "cli/spec.h"

#define SW__SPEC_PATH_MAX 1024 /* of a key's path: "limits.memory", "command[1]" */

/* Reads the YAML documents of text, named file in messages (borrowed, must outlive
 * s), and hands each to sw__spec_add_document. *ndocs counts those with content.
 * 0; SW_EINVAL after a YAML error (reported, reading stops there); SW_ENOMEM. */
int sw__spec_yaml_read(struct sw_spec *s, const char *file, const char *text, size_t len,
                       int *ndocs);

/* Adds one error line to s: "FILE:LINE:COL: WHAT: message" ("FILE: " when pos is
 * unknown; no "WHAT: " when what is NULL). Past SW_SPEC_MAX_ERRORS, only counts it. */
void sw__spec_error(struct sw_spec *s, const char *file, struct sw_spec_pos pos, const char *what,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The position marks records for path: of its key (which = 0) or its value (which =
 * 2). 1 when found. */
int sw__spec_marks_pos(const json_t *marks, const char *path, int which, struct sw_spec_pos *pos);

/* Checks a finished document and adds it to s; root and marks are stolen, start is
 * where the document's mapping begins. 0 (also when it reported errors) or
 * SW_ENOMEM. */
int sw__spec_add_document(struct sw_spec *s, const char *file, json_t *root, json_t *marks,
                          struct sw_spec_pos start);

#endif
