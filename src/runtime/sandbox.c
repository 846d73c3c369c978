/* SPDX-License-Identifier: MIT
 * sandbox.c - builds the argv that wraps an agent's command in prlimit and bwrap.
 * Every string of a built argv is its own allocation, so sw_argv_free frees them all
 * the same way. The tool paths are looked up in PATH on first use and kept. */
#include "sandbox.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SANDBOX_MAX_ARGS 4096

struct sandbox_tool {
    const char *name;
    char *path; /* NULL: missing */
    int resolved;
};

static struct sandbox_tool tool_bwrap = {"bwrap", NULL, 0};
static struct sandbox_tool tool_prlimit = {"prlimit", NULL, 0};

/* A new argv under construction. */
struct argv_builder {
    char **argv;
    size_t count, cap;
    int rc;
};

static char *sandbox_search_path(const char *name)
{
    const char *path = getenv("PATH");
    char candidate[4096];

    if (path == NULL || path[0] == '\0')
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t dir_len = end ? (size_t)(end - path) : strlen(path);
        if (dir_len > 0 &&
            snprintf(candidate, sizeof candidate, "%.*s/%s", (int)dir_len, path, name) <
                (int)sizeof candidate &&
            access(candidate, X_OK) == 0)
            return sw_strdup(candidate);
        path += dir_len;
        if (*path == ':')
            path++;
    }
    return NULL;
}

static const char *sandbox_tool_path(struct sandbox_tool *tool)
{
    if (!tool->resolved) {
        tool->path = sandbox_search_path(tool->name);
        tool->resolved = 1;
    }
    return tool->path;
}

static int sandbox_tool_set(struct sandbox_tool *tool, const char *path)
{
    char *copy = NULL;

    if (path && access(path, X_OK) == 0) {
        copy = sw_strdup(path);
        if (copy == NULL)
            return SW_ENOMEM;
    }
    sw_free(tool->path);
    tool->path = copy;
    tool->resolved = path != NULL;
    return 0;
}

int sw_sandbox_set_tools(const char *bwrap_path, const char *prlimit_path)
{
    int rc = sandbox_tool_set(&tool_bwrap, bwrap_path);
    if (rc == 0)
        rc = sandbox_tool_set(&tool_prlimit, prlimit_path);
    return rc;
}

int sw_sandbox_parse(const char *name, enum sw_sandbox *out)
{
    static const char *names[] = {"none", "development", "paranoid"};

    for (int i = 0; name && i < 3; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum sw_sandbox)i;
            return 0;
        }
    }
    return SW_EINVAL;
}

const char *sw_sandbox_name(enum sw_sandbox preset)
{
    switch (preset) {
    case SW_SANDBOX_DEVELOPMENT:
        return "development";
    case SW_SANDBOX_PARANOID:
        return "paranoid";
    default:
        return "none";
    }
}

static void builder_add(struct argv_builder *b, const char *arg)
{
    char *copy;

    if (b->rc)
        return;
    if (b->count + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        char **grown;
        if (cap > SANDBOX_MAX_ARGS) {
            b->rc = SW_EINVAL;
            return;
        }
        grown = sw_realloc(b->argv, cap * sizeof *grown);
        if (grown == NULL) {
            b->rc = SW_ENOMEM;
            return;
        }
        b->argv = grown;
        b->cap = cap;
    }
    copy = sw_strdup(arg);
    if (copy == NULL) {
        b->rc = SW_ENOMEM;
        return;
    }
    b->argv[b->count++] = copy;
    b->argv[b->count] = NULL;
}

/* "--as=N", or "--nofile=N:N" (soft and hard) when both is set. */
static void builder_add_limit(struct argv_builder *b, const char *option, int64_t value, int both)
{
    char arg[96];

    if (both)
        snprintf(arg, sizeof arg, "%s=%lld:%lld", option, (long long)value, (long long)value);
    else
        snprintf(arg, sizeof arg, "%s=%lld", option, (long long)value);
    builder_add(b, arg);
}

static char *hidden_path; /* covered by an empty tmpfs in every sandbox (swarmd's home) */

int sw_sandbox_set_hidden(const char *path)
{
    char *copy = path ? sw_strdup(path) : NULL;
    if (path && copy == NULL)
        return SW_ENOMEM;
    sw_free(hidden_path);
    hidden_path = copy;
    return 0;
}

static void builder_add_bwrap(struct argv_builder *b, enum sw_sandbox preset, const char *workdir)
{
    /* no --new-session: the agent already leads its own session without a terminal (setsid),
     * and a new one would keep SIGTERM from reaching it (no graceful stop) */
    static const char *paranoid[] = {"--unshare-all", "--die-with-parent"};
    static const char *mounts[] = {"--ro-bind", "/",     "/",       "--dev", "/dev",
                                   "--proc",    "/proc", "--tmpfs", "/tmp"};

    builder_add(b, tool_bwrap.path);
    if (preset == SW_SANDBOX_PARANOID)
        for (size_t i = 0; i < sizeof paranoid / sizeof paranoid[0]; i++)
            builder_add(b, paranoid[i]);
    else
        builder_add(b, "--die-with-parent");
    for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++)
        builder_add(b, mounts[i]);
    if (hidden_path) { /* before the work dir, which may lie inside it */
        builder_add(b, "--tmpfs");
        builder_add(b, hidden_path);
    }
    builder_add(b, "--bind");
    builder_add(b, workdir);
    builder_add(b, workdir);
    builder_add(b, "--chdir");
    builder_add(b, workdir);
    if (preset == SW_SANDBOX_PARANOID) {
        builder_add(b, "--cap-drop");
        builder_add(b, "ALL");
    }
    builder_add(b, "--");
}

static int limits_valid(const struct sw_limits *l)
{
    return l->memory_bytes >= 0 && l->open_files >= 0 && l->processes >= 0 && l->cpu >= 0;
}

static int limits_need_prlimit(const struct sw_limits *l)
{
    return l->memory_bytes > 0 || l->open_files > 0 || l->processes > 0;
}

static void builder_add_prlimit(struct argv_builder *b, const struct sw_limits *l)
{
    builder_add(b, tool_prlimit.path);
    if (l->memory_bytes > 0)
        builder_add_limit(b, "--as", l->memory_bytes, 0);
    if (l->open_files > 0)
        builder_add_limit(b, "--nofile", l->open_files, 1);
    if (l->processes > 0)
        builder_add_limit(b, "--nproc", l->processes, 1);
    builder_add(b, "--");
}

static int sandbox_check(enum sw_sandbox preset, const struct sw_limits *l, const char *workdir,
                         char *const *argv)
{
    if (argv == NULL || argv[0] == NULL || !limits_valid(l))
        return SW_EINVAL;
    if (preset != SW_SANDBOX_NONE) {
        if (preset != SW_SANDBOX_DEVELOPMENT && preset != SW_SANDBOX_PARANOID)
            return SW_EINVAL;
        /* binding / read-write would undo the sandbox */
        if (workdir == NULL || workdir[0] != '/' || strcmp(workdir, "/") == 0)
            return SW_EINVAL;
        if (sandbox_tool_path(&tool_bwrap) == NULL)
            return SW_ENOT_FOUND;
    }
    if (limits_need_prlimit(l) && sandbox_tool_path(&tool_prlimit) == NULL)
        return SW_ENOT_FOUND;
    return 0;
}

int sw_sandbox_argv(enum sw_sandbox preset, const struct sw_limits *limits, const char *workdir,
                    char *const *argv, char ***out)
{
    static const struct sw_limits no_limits;
    const struct sw_limits *l = limits ? limits : &no_limits;
    struct argv_builder b = {0};
    int rc;

    *out = NULL;
    rc = sandbox_check(preset, l, workdir, argv);
    if (rc)
        return rc;
    if (preset != SW_SANDBOX_NONE)
        builder_add_bwrap(&b, preset, workdir);
    if (limits_need_prlimit(l))
        builder_add_prlimit(&b, l);
    for (size_t i = 0; argv[i]; i++)
        builder_add(&b, argv[i]);
    if (b.rc) {
        sw_argv_free(b.argv);
        return b.rc;
    }
    *out = b.argv;
    return 0;
}

void sw_argv_free(char **argv)
{
    if (argv == NULL)
        return;
    for (size_t i = 0; argv[i]; i++)
        sw_free(argv[i]);
    sw_free(argv);
}

int sw_argv_from_shell(const char *command, char ***out)
{
    char *const shell[] = {"/bin/sh", "-c", (char *)command, NULL};
    struct argv_builder b = {0};

    *out = NULL;
    if (command == NULL)
        return SW_EINVAL;
    for (size_t i = 0; shell[i]; i++)
        builder_add(&b, shell[i]);
    if (b.rc) {
        sw_argv_free(b.argv);
        return b.rc;
    }
    *out = b.argv;
    return 0;
}
