/* SPDX-License-Identifier: MIT
 * cgroup.c - cgroup v2 limits for an agent, following the kernel's cgroup-v2.rst:
 * controllers are enabled top-down through cgroup.subtree_control ("+cpu +memory"),
 * processes live only in leaves (ROOT/swarmd holds none, so the "no internal
 * processes" rule holds), memory.max takes bytes or "max", cpu.max takes
 * "$QUOTA $PERIOD" in microseconds (or "max $PERIOD"), and a process moves by writing
 * its pid to the leaf's cgroup.procs. Nothing is written unless the root is a cgroup2
 * mount. */
#include "cgroup.h"
#include "sandbox.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"
#define CGROUP_DIR          "swarmd"
#define CGROUP_CPU_PERIOD   100000 /* microseconds */
#define CGROUP_CPU_MIN      1000   /* the kernel's smallest quota */
#define CGROUP_NAME_MAX     128

static const char *cgroup_root = CGROUP_DEFAULT_ROOT;
static int cgroup_require_v2 = 1;

void sw_cgroup_set_root(const char *root, int require_cgroup2)
{
    cgroup_root = root ? root : CGROUP_DEFAULT_ROOT;
    cgroup_require_v2 = root ? require_cgroup2 : 1;
}

/* dir/file into path; SW_EINVAL when it does not fit. */
static int cgroup_path(char path[PATH_MAX], const char *dir, const char *file)
{
    int n = snprintf(path, PATH_MAX, "%s/%s", dir, file);

    return n < 0 || n >= PATH_MAX ? SW_EINVAL : 0;
}

static void cgroup_why(char *why, size_t size, const char *fmt, const char *arg)
{
    if (why && size > 0)
        snprintf(why, size, fmt, arg);
}

static int cgroup_fs_type(const char *path, long *type)
{
    struct statfs st;

    if (statfs(path, &st) < 0)
        return SW_EIO;
    *type = (long)st.f_type;
    return 0;
}

/* 1 if the root is a cgroup2 mount (or need not be); else the reason. */
static int cgroup_is_v2(char *why, size_t size)
{
    char unified[PATH_MAX];
    long type;

    if (!cgroup_require_v2)
        return 1;
    if (cgroup_fs_type(cgroup_root, &type)) {
        cgroup_why(why, size, "no cgroup filesystem at %s", cgroup_root);
        return 0;
    }
    if (type == CGROUP2_SUPER_MAGIC)
        return 1;
    if (type == TMPFS_MAGIC && cgroup_path(unified, cgroup_root, "unified") == 0 &&
        cgroup_fs_type(unified, &type) == 0 && type == CGROUP2_SUPER_MAGIC)
        cgroup_why(why, size,
                   "cgroup v1 only on this machine (hybrid layout under %s: the cpu and "
                   "memory controllers are on v1)",
                   cgroup_root);
    else if (type == TMPFS_MAGIC || type == CGROUP_SUPER_MAGIC)
        cgroup_why(why, size, "cgroup v1 only on this machine (%s is not cgroup2)", cgroup_root);
    else
        cgroup_why(why, size, "%s is not a cgroup2 mount", cgroup_root);
    return 0;
}

static int cgroup_read(const char *path, char *text, size_t size)
{
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return SW_EIO;
    n = read(fd, text, size - 1);
    close(fd);
    if (n < 0)
        return SW_EIO;
    text[n] = '\0';
    return 0;
}

/* One write(2) of the whole value, as cgroup files expect. */
static int cgroup_write(const char *path, const char *value)
{
    size_t len = strlen(value);
    ssize_t n;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        return SW_EIO;
    n = write(fd, value, len);
    if (close(fd) < 0 || n != (ssize_t)len)
        return SW_EIO;
    return 0;
}

/* 1 if the space-separated list in text has word. */
static int cgroup_has_word(const char *text, const char *word)
{
    size_t len = strlen(word);

    for (const char *s = strstr(text, word); s; s = strstr(s + 1, word)) {
        int starts = s == text || s[-1] == ' ' || s[-1] == '\n';
        int ends = s[len] == '\0' || s[len] == ' ' || s[len] == '\n';
        if (starts && ends)
            return 1;
    }
    return 0;
}

int sw_cgroup_available(char *why, size_t size)
{
    char path[PATH_MAX], text[512];

    if (why && size > 0)
        why[0] = '\0';
    if (!cgroup_is_v2(why, size))
        return 0;
    if (cgroup_path(path, cgroup_root, "cgroup.controllers") ||
        cgroup_read(path, text, sizeof text)) {
        cgroup_why(why, size, "cannot read %s", path);
        return 0;
    }
    if (!cgroup_has_word(text, "cpu") || !cgroup_has_word(text, "memory")) {
        cgroup_why(why, size, "the cpu and memory controllers are not both available in %s", path);
        return 0;
    }
    if (cgroup_path(path, cgroup_root, CGROUP_DIR)) {
        cgroup_why(why, size, "%s: path too long", cgroup_root);
        return 0;
    }
    if (access(path, W_OK) != 0 && (errno != ENOENT || access(cgroup_root, W_OK) != 0)) {
        cgroup_why(why, size, "%s is not writable by swarmd (run it as root or delegate it)", path);
        return 0;
    }
    return 1;
}

static int cgroup_name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;

    if (len == 0 || len > CGROUP_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* mkdir dir (an existing one is fine) and enable cpu and memory for its children. */
static int cgroup_enable(const char *dir, int create)
{
    char path[PATH_MAX], text[512];

    if (create && mkdir(dir, 0755) < 0 && errno != EEXIST)
        return SW_EIO;
    if (cgroup_path(path, dir, "cgroup.subtree_control"))
        return SW_EINVAL;
    if (cgroup_write(path, "+cpu +memory") == 0)
        return 0;
    if (cgroup_read(path, text, sizeof text) == 0 && cgroup_has_word(text, "cpu") &&
        cgroup_has_word(text, "memory"))
        return 0;
    return SW_EIO;
}

static int cgroup_set(const char *dir, const char *file, const char *value)
{
    char path[PATH_MAX];

    if (cgroup_path(path, dir, file))
        return SW_EINVAL;
    return cgroup_write(path, value);
}

static void cgroup_cpu_max(double cpu, char *text, size_t size)
{
    double quota;

    if (cpu <= 0) {
        snprintf(text, size, "max %d", CGROUP_CPU_PERIOD);
        return;
    }
    quota = cpu * CGROUP_CPU_PERIOD + 0.5;
    if (quota < CGROUP_CPU_MIN)
        quota = CGROUP_CPU_MIN;
    if (quota > (double)INT64_MAX / 2)
        quota = (double)INT64_MAX / 2;
    snprintf(text, size, "%lld %d", (long long)quota, CGROUP_CPU_PERIOD);
}

int sw_cgroup_apply(const char *name, int pid, const struct sw_limits *l)
{
    char top[PATH_MAX], leaf[PATH_MAX], value[64];
    int rc;

    if (!cgroup_name_valid(name) || pid <= 0 || l == NULL || l->memory_bytes < 0 || l->cpu < 0)
        return SW_EINVAL;
    if (!cgroup_is_v2(NULL, 0))
        return SW_EIO;
    if (cgroup_path(top, cgroup_root, CGROUP_DIR) || cgroup_path(leaf, top, name))
        return SW_EINVAL;
    rc = cgroup_enable(cgroup_root, 0);
    if (rc == 0)
        rc = cgroup_enable(top, 1);
    if (rc == 0 && mkdir(leaf, 0755) < 0 && errno != EEXIST)
        rc = SW_EIO;
    if (rc)
        return rc;
    if (l->memory_bytes > 0)
        snprintf(value, sizeof value, "%lld", (long long)l->memory_bytes);
    else
        snprintf(value, sizeof value, "max");
    rc = cgroup_set(leaf, "memory.max", value);
    if (rc)
        return rc;
    cgroup_cpu_max(l->cpu, value, sizeof value);
    rc = cgroup_set(leaf, "cpu.max", value);
    if (rc)
        return rc;
    snprintf(value, sizeof value, "%d", pid);
    return cgroup_set(leaf, "cgroup.procs", value);
}

int sw_cgroup_remove(const char *name)
{
    char top[PATH_MAX], leaf[PATH_MAX];

    if (!cgroup_name_valid(name))
        return SW_EINVAL;
    if (!cgroup_is_v2(NULL, 0))
        return 0; /* never created */
    if (cgroup_path(top, cgroup_root, CGROUP_DIR) || cgroup_path(leaf, top, name))
        return SW_EINVAL;
    if (rmdir(leaf) < 0 && errno != ENOENT)
        return SW_EIO;
    return 0;
}
