/* SPDX-License-Identifier: MIT
 * curl_lib.c - finds libcurl at run time (by its soname, as the dynamic linker would)
 * and resolves the few functions the client calls. */
#include "cli/curl_lib.h"

#include "core/error.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static const char *const curl_lib_names[] = {"libcurl.so.4", "libcurl.so", NULL};

static const struct curl_symbol {
    const char *name;
    size_t offset; /* of the pointer in struct sw_curl_lib */
} curl_symbols[] = {
    {"curl_global_init", offsetof(struct sw_curl_lib, global_init)},
    {"curl_global_cleanup", offsetof(struct sw_curl_lib, global_cleanup)},
    {"curl_easy_init", offsetof(struct sw_curl_lib, easy_init)},
    {"curl_easy_setopt", offsetof(struct sw_curl_lib, easy_setopt)},
    {"curl_easy_perform", offsetof(struct sw_curl_lib, easy_perform)},
    {"curl_easy_getinfo", offsetof(struct sw_curl_lib, easy_getinfo)},
    {"curl_easy_cleanup", offsetof(struct sw_curl_lib, easy_cleanup)},
    {"curl_easy_strerror", offsetof(struct sw_curl_lib, easy_strerror)},
    {"curl_slist_append", offsetof(struct sw_curl_lib, slist_append)},
    {"curl_slist_free_all", offsetof(struct sw_curl_lib, slist_free_all)},
};

static struct sw_curl_lib curl_lib;
static int curl_lib_ready;

/* Resolves every symbol of handle into curl_lib. */
static int curl_lib_resolve(void *handle, char *err, size_t errsize)
{
    for (size_t i = 0; i < sizeof curl_symbols / sizeof curl_symbols[0]; i++) {
        void *symbol = dlsym(handle, curl_symbols[i].name);
        if (symbol == NULL) {
            snprintf(err, errsize, "libcurl has no %s", curl_symbols[i].name);
            return SW_EINTERNAL;
        }
        /* POSIX: a function's address fits in, and round-trips through, a void * */
        memcpy((char *)&curl_lib + curl_symbols[i].offset, &symbol, sizeof symbol);
    }
    return 0;
}

int sw_curl_lib_load(const struct sw_curl_lib **lib, char *err, size_t errsize)
{
    void *handle = NULL;
    int rc;

    if (!curl_lib_ready) {
        for (const char *const *name = curl_lib_names; *name && handle == NULL; name++)
            handle = dlopen(*name, RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) {
            snprintf(err, errsize, "cannot load libcurl: %s", dlerror());
            return SW_EINTERNAL;
        }
        rc = curl_lib_resolve(handle, err, errsize);
        if (rc)
            return rc;
        curl_lib_ready = 1;
    }
    *lib = &curl_lib;
    return 0;
}
