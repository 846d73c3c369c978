/* SPDX-License-Identifier: MIT
 * error.h - swarmd error codes (generated from errors.def): negative SW_E* values,
 * their API code strings, HTTP statuses and messages. */
#ifndef SW_ERROR_H
#define SW_ERROR_H

enum sw_error {
    SW_OK = 0,
#define SW_ERR(name, num, code, status, msg) SW_E##name = -(num),
#include "errors.def"
#undef SW_ERR
};

/* API code string of rc ("not_found"); "internal" for an unknown rc. */
const char *sw_strerror_code(int rc);
/* Human message of rc. */
const char *sw_strerror(int rc);
/* HTTP status of rc. */
int sw_error_http_status(int rc);

#endif
