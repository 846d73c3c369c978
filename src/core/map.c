/* SPDX-License-Identifier: MIT
 * map.c - linear-probing hash maps with tombstones, grown at 70% load. */
#include "map.h"
#include "alloc.h"
#include "error.h"

#include <string.h>

static char tombstone_mark;
#define TOMBSTONE ((void *)&tombstone_mark)

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t sw_hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return mix64(h);
}

void sw_map_init(struct sw_map *m)
{
    memset(m, 0, sizeof *m);
}

void sw_map_free(struct sw_map *m)
{
    sw_free(m->slots);
    memset(m, 0, sizeof *m);
}

static struct sw_map_slot *map_find(const struct sw_map *m, uint64_t key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
        struct sw_map_slot *s = &m->slots[i];
        if (s->value == NULL)
            return NULL;
        if (s->value != TOMBSTONE && s->key == key)
            return s;
    }
}

void *sw_map_get(const struct sw_map *m, uint64_t key)
{
    struct sw_map_slot *s = map_find(m, key);
    return s ? s->value : NULL;
}

static int map_grow(struct sw_map *m)
{
    size_t cap = m->cap ? m->cap : 16;
    if (m->count * 10 >= cap * 5)
        cap *= 2;
    struct sw_map_slot *slots = sw_calloc(cap, sizeof *slots);
    if (slots == NULL)
        return SW_ENOMEM;
    size_t mask = cap - 1;
    for (size_t j = 0; j < m->cap; j++) {
        struct sw_map_slot *old = &m->slots[j];
        if (old->value == NULL || old->value == TOMBSTONE)
            continue;
        size_t i = mix64(old->key) & mask;
        while (slots[i].value)
            i = (i + 1) & mask;
        slots[i] = *old;
    }
    sw_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->count;
    return 0;
}

int sw_map_put(struct sw_map *m, uint64_t key, void *value)
{
    struct sw_map_slot *s = map_find(m, key);
    if (s) {
        s->value = value;
        return 0;
    }
    if ((m->used + 1) * 10 > m->cap * 7) {
        int rc = map_grow(m);
        if (rc)
            return rc;
    }
    size_t mask = m->cap - 1;
    size_t i = mix64(key) & mask;
    while (m->slots[i].value && m->slots[i].value != TOMBSTONE)
        i = (i + 1) & mask;
    if (m->slots[i].value == NULL)
        m->used++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    m->count++;
    return 0;
}

void *sw_map_del(struct sw_map *m, uint64_t key)
{
    struct sw_map_slot *s = map_find(m, key);
    if (s == NULL)
        return NULL;
    void *value = s->value;
    s->value = TOMBSTONE;
    m->count--;
    return value;
}

int sw_map_next(const struct sw_map *m, size_t *pos, uint64_t *key, void **value)
{
    while (*pos < m->cap) {
        struct sw_map_slot *s = &m->slots[(*pos)++];
        if (s->value && s->value != TOMBSTONE) {
            if (key)
                *key = s->key;
            if (value)
                *value = s->value;
            return 1;
        }
    }
    return 0;
}

void sw_strmap_init(struct sw_strmap *m)
{
    memset(m, 0, sizeof *m);
}

void sw_strmap_free(struct sw_strmap *m)
{
    sw_free(m->slots);
    memset(m, 0, sizeof *m);
}

static struct sw_strmap_slot *strmap_find(const struct sw_strmap *m, const char *key, uint64_t hash)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct sw_strmap_slot *s = &m->slots[i];
        if (s->value == NULL)
            return NULL;
        if (s->value != TOMBSTONE && s->hash == hash && strcmp(s->key, key) == 0)
            return s;
    }
}

void *sw_strmap_get(const struct sw_strmap *m, const char *key)
{
    struct sw_strmap_slot *s = strmap_find(m, key, sw_hash_bytes(key, strlen(key)));
    return s ? s->value : NULL;
}

static int strmap_grow(struct sw_strmap *m)
{
    size_t cap = m->cap ? m->cap : 16;
    if (m->count * 10 >= cap * 5)
        cap *= 2;
    struct sw_strmap_slot *slots = sw_calloc(cap, sizeof *slots);
    if (slots == NULL)
        return SW_ENOMEM;
    size_t mask = cap - 1;
    for (size_t j = 0; j < m->cap; j++) {
        struct sw_strmap_slot *old = &m->slots[j];
        if (old->value == NULL || old->value == TOMBSTONE)
            continue;
        size_t i = old->hash & mask;
        while (slots[i].value)
            i = (i + 1) & mask;
        slots[i] = *old;
    }
    sw_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->count;
    return 0;
}

int sw_strmap_put(struct sw_strmap *m, const char *key, void *value)
{
    uint64_t hash = sw_hash_bytes(key, strlen(key));
    struct sw_strmap_slot *s = strmap_find(m, key, hash);
    if (s) {
        s->key = key;
        s->value = value;
        return 0;
    }
    if ((m->used + 1) * 10 > m->cap * 7) {
        int rc = strmap_grow(m);
        if (rc)
            return rc;
    }
    size_t mask = m->cap - 1;
    size_t i = hash & mask;
    while (m->slots[i].value && m->slots[i].value != TOMBSTONE)
        i = (i + 1) & mask;
    if (m->slots[i].value == NULL)
        m->used++;
    m->slots[i] = (struct sw_strmap_slot){key, hash, value};
    m->count++;
    return 0;
}

void *sw_strmap_del(struct sw_strmap *m, const char *key)
{
    struct sw_strmap_slot *s = strmap_find(m, key, sw_hash_bytes(key, strlen(key)));
    if (s == NULL)
        return NULL;
    void *value = s->value;
    s->value = TOMBSTONE;
    m->count--;
    return value;
}

int sw_strmap_next(const struct sw_strmap *m, size_t *pos, const char **key, void **value)
{
    while (*pos < m->cap) {
        struct sw_strmap_slot *s = &m->slots[(*pos)++];
        if (s->value && s->value != TOMBSTONE) {
            if (key)
                *key = s->key;
            if (value)
                *value = s->value;
            return 1;
        }
    }
    return 0;
}
