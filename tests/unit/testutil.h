/* SPDX-License-Identifier: MIT
 * testutil.h - helpers the unit tests share: removing a temporary directory tree. */
#ifndef SW_TESTUTIL_H
#define SW_TESTUTIL_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* rm -rf path (no symlinks followed). */
static inline void remove_tree(const char *path)
{
    struct stat st;
    DIR *dir;
    struct dirent *e;
    char child[PATH_MAX];

    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && (dir = opendir(path)) != NULL) {
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(child, sizeof child, "%.3800s/%.255s", path, e->d_name);
            remove_tree(child);
        }
        closedir(dir);
    }
    remove(path);
}

#endif
