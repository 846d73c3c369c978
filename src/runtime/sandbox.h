/* SPDX-License-Identifier: MIT
 * sandbox.h - the command line that runs an agent with resource limits and inside a
 * sandbox preset: a pure function from (preset, limits, work dir, argv) to a new argv
 * that goes through bwrap (bubblewrap) and prlimit (util-linux). The only I/O is
 * looking up, once, which of those tools exist. The cpu limit is not an rlimit (cpu
 * time is not "1.5 cores"): it is applied through cgroups (cgroup.h). */
#ifndef SW_SANDBOX_H
#define SW_SANDBOX_H

#include "runtime/cgroup.h"

#include <stdint.h>

/* 0 = unset */
struct sw_limits {
    int64_t memory_bytes; /* prlimit --as, and memory.max in a cgroup */
    double cpu;           /* cores; cgroup cpu.max only */
    int64_t open_files;   /* prlimit --nofile */
    int64_t processes;    /* prlimit --nproc */
};

enum sw_sandbox { SW_SANDBOX_NONE, SW_SANDBOX_DEVELOPMENT, SW_SANDBOX_PARANOID };

/* "none" | "development" | "paranoid". 0 or SW_EINVAL. */
int sw_sandbox_parse(const char *name, enum sw_sandbox *out);
/* The preset's name ("none", ...). */
const char *sw_sandbox_name(enum sw_sandbox preset);
/* Sets the paths of bwrap and prlimit (NULL: look each up in PATH again); a tool
 * whose path is not executable counts as missing. The strings are copied. For tests
 * and for a configured location. 0 or SW_ENOMEM. */
int sw_sandbox_set_tools(const char *bwrap_path, const char *prlimit_path);
/* A directory hidden from every sandbox (an empty tmpfs over it, mounted before the work
 * dir, so a work dir inside it stays visible): swarmd's home, with its socket and
 * database. NULL = none. 0 or SW_ENOMEM. */
int sw_sandbox_set_hidden(const char *path);
/* Builds a new NULL-terminated argv (caller frees with sw_argv_free) that runs argv
 * with the limits (through `prlimit --as=BYTES --nofile=N:N --nproc=N:N --`, each only
 * when set; no prlimit when none is set) inside the sandbox preset (through bwrap;
 * prlimit runs inside the sandbox, so bwrap's own setup is not limited):
 *   paranoid:    bwrap --unshare-all --die-with-parent --ro-bind / /
 *                --dev /dev --proc /proc --tmpfs /tmp --bind WORKDIR WORKDIR
 *                --chdir WORKDIR --cap-drop ALL -- ...
 *   development: bwrap --die-with-parent --ro-bind / / --dev /dev --proc /proc
 *                --tmpfs /tmp --bind WORKDIR WORKDIR --chdir WORKDIR -- ...
 *   none:        no bwrap.
 * /tmp comes before the work dir so that a work dir under /tmp stays visible. 0,
 * SW_EINVAL (no argv, or a sandbox without an absolute workdir), SW_ENOT_FOUND (bwrap
 * missing when a sandbox is asked for, or prlimit missing when a limit is set) or
 * SW_ENOMEM. */
int sw_sandbox_argv(enum sw_sandbox preset, const struct sw_limits *limits, const char *workdir,
                    char *const *argv, char ***out);
/* Frees an argv built here (NULL is fine). */
void sw_argv_free(char **argv);
/* Builds the argv for a shell string: /bin/sh -c STRING. Caller frees with
 * sw_argv_free. 0, SW_EINVAL or SW_ENOMEM. */
int sw_argv_from_shell(const char *command, char ***out);

#endif
