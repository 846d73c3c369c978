/* SPDX-License-Identifier: MIT
 * json_in.h - reading request bodies and query values: each helper validates one
 * field and, when it is wrong, answers the request with the one error shape naming
 * that field and returns the error code (the handler then just returns). */
#ifndef SW_JSON_IN_H
#define SW_JSON_IN_H

#include "api/http.h"

#include <jansson.h>
#include <stdint.h>

/* The body as a JSON object (an empty body is {}). *out: new reference. */
int sw_body_object(struct sw_request *req, json_t **out);
/* Every key of obj must be one of allowed (NULL-terminated). */
int sw_body_only(struct sw_request *req, json_t *obj, const char *const allowed[]);
/* Absent fields keep *out as it was (the default) unless required. */
int sw_field_string(struct sw_request *req, json_t *obj, const char *key, int required,
                    size_t max_len, const char **out);
int sw_field_int(struct sw_request *req, json_t *obj, const char *key, int64_t min, int64_t max,
                 int64_t *out);
int sw_field_number(struct sw_request *req, json_t *obj, const char *key, double min, double max,
                    double *out);
int sw_field_bool(struct sw_request *req, json_t *obj, const char *key, int *out);
/* A map of string values (at most 64 entries) as compact JSON text (new string). */
int sw_field_labels(struct sw_request *req, json_t *obj, const char *key, char **out);
/* Any JSON value as compact text (new string); absent -> NULL. */
int sw_field_json(struct sw_request *req, json_t *obj, const char *key, size_t max_len, char **out);
/* A capability name: [a-z0-9][a-z0-9._/-]{0,127}, optionally "@<major>". */
int sw_capability_valid(const char *name);
/* The {id} path parameter as an id with prefix; answers 404 when malformed. */
int sw_path_id(struct sw_request *req, char prefix, const char *what, uint64_t *id);
/* Query integer in [min, max]; absent keeps *out. */
int sw_query_int(struct sw_request *req, const char *key, int64_t min, int64_t max, int64_t *out);
/* Every query parameter must be one of allowed (NULL-terminated); else 400 naming it. */
int sw_query_only(struct sw_request *req, const char *const allowed[]);

#endif
