/* SPDX-License-Identifier: MIT
 * error.c - lookups over the errors.def table. */
#include "error.h"

struct sw_error_info {
    int rc;
    const char *code;
    int status;
    const char *msg;
};

static const struct sw_error_info error_table[] = {
#define SW_ERR(name, num, code, status, msg) {-(num), code, status, msg},
#include "errors.def"
#undef SW_ERR
};

static const struct sw_error_info *error_find(int rc)
{
    for (unsigned i = 0; i < sizeof error_table / sizeof error_table[0]; i++)
        if (error_table[i].rc == rc)
            return &error_table[i];
    return &error_table[1]; /* INTERNAL */
}

const char *sw_strerror_code(int rc)
{
    return rc == 0 ? "ok" : error_find(rc)->code;
}

const char *sw_strerror(int rc)
{
    return rc == 0 ? "success" : error_find(rc)->msg;
}

int sw_error_http_status(int rc)
{
    return rc == 0 ? 200 : error_find(rc)->status;
}
