/* SPDX-License-Identifier: MIT
 * curl_lib.h - libcurl, loaded with dlopen the first time a command talks to the
 * daemon. Linked the ordinary way, libcurl and the thirty libraries it pulls in cost
 * several milliseconds at every start, even for --version, --help and usage errors;
 * loaded here, only commands that send a request pay for it. The functions are
 * reached through one table of pointers, filled once. */
#ifndef SW_CLI_CURL_LIB_H
#define SW_CLI_CURL_LIB_H

#include <curl/curl.h>
#include <stddef.h>

struct sw_curl_lib {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
};

/* Loads libcurl once and sets *lib (borrowed, lives until exit). 0, or SW_EINTERNAL
 * with a one-line reason written into err. */
int sw_curl_lib_load(const struct sw_curl_lib **lib, char *err, size_t errsize);

#endif
