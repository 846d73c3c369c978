/* SPDX-License-Identifier: MIT
 * fields.h - typed reading of a JSON object's fields for specs: each reader checks one
 * field, fills a default when it is absent, and on error writes which field and why into
 * a struct sw_field_error (the API turns it into its one error shape). Durations accept
 * "30s"-style strings or integer milliseconds, sizes "512MiB"-style strings or bytes. */
#ifndef SW_FIELDS_H
#define SW_FIELDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct sw_field_error {
    char field[96];
    char message[256];
};

/* All return 0 or SW_EBAD_FIELD / SW_EMISSING_FIELD / SW_EUNKNOWN_FIELD / SW_ENOMEM. */
int sw_fields_only(json_t *obj, const char *const allowed[], const char *prefix,
                   struct sw_field_error *err);
int sw_field_get_string(json_t *obj, const char *key, int required, size_t max_len,
                        const char **out, struct sw_field_error *err);
int sw_field_get_int(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                     struct sw_field_error *err);
int sw_field_get_number(json_t *obj, const char *key, double min, double max, double *out,
                        struct sw_field_error *err);
int sw_field_get_duration(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out_ms,
                          struct sw_field_error *err);
int sw_field_get_size(json_t *obj, const char *key, int64_t max, int64_t *out,
                      struct sw_field_error *err);
/* index of value in choices ("a|b|c"); absent keeps *out. */
int sw_field_get_enum(json_t *obj, const char *key, const char *choices, int *out,
                      struct sw_field_error *err);
int sw_field_get_bool(json_t *obj, const char *key, int *out, struct sw_field_error *err);
/* A list of strings (new NULL-terminated array of new strings; caller frees with
 * sw_strv_free). */
int sw_field_get_strv(json_t *obj, const char *key, size_t max_items, size_t max_len, char ***out,
                      size_t *n, struct sw_field_error *err);
/* A map of string values, as "K=V" strings (env) or compact JSON text (labels). */
int sw_field_get_env(json_t *obj, const char *key, char ***out, size_t *n,
                     struct sw_field_error *err);
int sw_field_get_labels(json_t *obj, const char *key, char **out, struct sw_field_error *err);
int sw_field_fail(struct sw_field_error *err, int rc, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sw_strv_free(char **v);
char **sw_strv_dup(char *const *v);
/* A capability: [a-z0-9][a-z0-9._/-]{0,127}, optionally "@<major version>". */
int sw_capability_name_valid(const char *name);
/* A name for swarms and templates: [a-z0-9][a-z0-9._-]{0,62}. */
int sw_name_valid(const char *name);

#endif
