/* SPDX-License-Identifier: MIT
 * map.h - open-addressing hash maps: sw_map keyed by uint64_t, sw_strmap keyed by a
 * string the caller keeps alive (borrowed) as long as the entry exists. Values are
 * borrowed pointers. Neither map allows NULL values. */
#ifndef SW_MAP_H
#define SW_MAP_H

#include <stddef.h>
#include <stdint.h>

struct sw_map_slot {
    uint64_t key;
    void *value; /* NULL = empty; tombstones use a sentinel */
};

struct sw_map {
    struct sw_map_slot *slots;
    size_t cap; /* power of two */
    size_t count;
    size_t used; /* count + tombstones */
};

void sw_map_init(struct sw_map *m);
void sw_map_free(struct sw_map *m);
void *sw_map_get(const struct sw_map *m, uint64_t key);
/* Inserts or replaces. 0 or SW_ENOMEM. */
int sw_map_put(struct sw_map *m, uint64_t key, void *value);
/* Removes and returns the value, NULL if absent. */
void *sw_map_del(struct sw_map *m, uint64_t key);
/* Iterates: start with *pos = 0; returns 0 at the end. */
int sw_map_next(const struct sw_map *m, size_t *pos, uint64_t *key, void **value);

struct sw_strmap_slot {
    const char *key;
    uint64_t hash;
    void *value;
};

struct sw_strmap {
    struct sw_strmap_slot *slots;
    size_t cap;
    size_t count;
    size_t used;
};

void sw_strmap_init(struct sw_strmap *m);
void sw_strmap_free(struct sw_strmap *m);
void *sw_strmap_get(const struct sw_strmap *m, const char *key);
int sw_strmap_put(struct sw_strmap *m, const char *key, void *value);
void *sw_strmap_del(struct sw_strmap *m, const char *key);
int sw_strmap_next(const struct sw_strmap *m, size_t *pos, const char **key, void **value);

uint64_t sw_hash_bytes(const void *data, size_t len);

#endif
