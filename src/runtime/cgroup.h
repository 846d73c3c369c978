/* SPDX-License-Identifier: MIT
 * cgroup.h - the cgroup v2 helper that applies an agent's cpu and memory limits:
 * swarmd creates /sys/fs/cgroup/swarmd/<name>, writes memory.max and cpu.max there
 * and moves the agent's pid in. Machines with only cgroup v1 (or a hybrid layout with
 * the controllers on v1) are told apart with a reason the caller can show. */
#ifndef SW_CGROUP_H
#define SW_CGROUP_H

#include <stddef.h>

struct sw_limits;

/* The root of the cgroup v2 tree used (default /sys/fs/cgroup; NULL resets it) and
 * whether it must be a cgroup2 mount (1 by default; 0 lets a test point it at a plain
 * directory that mimics one). The string is borrowed and must outlive its use. */
void sw_cgroup_set_root(const char *root, int require_cgroup2);
/* 1 if the root is a cgroup2 mount with the cpu and memory controllers available and
 * writable by this process; else 0 and a reason in why (such as "cgroup v1 only on
 * this machine"). */
int sw_cgroup_available(char *why, size_t size);
/* Creates ROOT/swarmd/<name> (name: [A-Za-z0-9._-], not "." or ".."), enables cpu and
 * memory for it, writes memory.max (bytes, "max" when unset) and cpu.max ("150000
 * 100000" for 1.5 cpus, "max 100000" when unset) and moves pid into it. Processes the
 * pid forked before the move stay where they were. 0, SW_EINVAL or SW_EIO. */
int sw_cgroup_apply(const char *name, int pid, const struct sw_limits *l);
/* Removes ROOT/swarmd/<name> once its processes are gone. 0, SW_EINVAL or SW_EIO
 * (SW_EIO also while processes remain in it). A missing group is not an error. */
int sw_cgroup_remove(const char *name);

#endif
