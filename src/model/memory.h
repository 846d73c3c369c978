/* SPDX-License-Identifier: MIT
 * memory.h - the shared memory's table: JSON values under (namespace, key), each with
 * a version (1 at creation, +1 per write), the global revision of its last write, an
 * optional expiry and labels. The table checks and applies writes (compare-and-swap,
 * create-only, transactions' checks) and keeps the expiry heap; it does no I/O: the
 * API appends the events and store ops of each change. */
#ifndef SW_MEMORY_H
#define SW_MEMORY_H

#include "core/map.h"

#include <stddef.h>
#include <stdint.h>

#define SW_MEM_NS_MAX 128
#define SW_MEM_NONE   ((size_t)-1)

struct sw_mem_entry {
    char *ns;    /* owned */
    char *key;   /* owned */
    char *id;    /* owned "ns\x1fkey": the table's map key */
    char *value; /* owned JSON text */
    size_t value_len;
    char *labels; /* owned JSON object text or NULL */
    int64_t version;
    uint64_t revision;
    int64_t created_at, updated_at;
    int64_t expire_at; /* wall ms, 0 = never */
    size_t ttl_index;  /* position in the expiry heap */
};

struct sw_mem_ns {
    char *name;
    struct sw_strmap keys;        /* key -> entry */
    struct sw_mem_entry **sorted; /* by key, rebuilt when stale */
    size_t nsorted;
    int sorted_stale;
};

struct sw_memory {
    struct sw_strmap spaces;   /* name -> struct sw_mem_ns */
    struct sw_mem_entry **ttl; /* min-heap on expire_at */
    size_t nttl, capttl;
    size_t keys;
    size_t bytes;
};

/* Limits. */
struct sw_mem_limits {
    size_t max_key;   /* bytes */
    size_t max_value; /* bytes of JSON text */
    size_t max_keys_per_ns;
};

void sw_memory_init(struct sw_memory *m);
void sw_memory_free(struct sw_memory *m);

/* A namespace: [a-z0-9][a-z0-9._:-]{0,127}. A key: 1..max_key bytes of UTF-8 text with no
 * control characters, not starting or ending with '/', no empty segment ("a//b"). */
int sw_mem_ns_valid(const char *ns);
int sw_mem_key_valid(const char *key, size_t max_key);

struct sw_mem_entry *sw_memory_get(const struct sw_memory *m, const char *ns, const char *key);

/* What a write expects of the current entry. */
enum sw_mem_expect {
    SW_MEM_ANY = 0, /* no condition */
    SW_MEM_VERSION, /* the entry exists with this version (0: must not exist) */
    SW_MEM_ABSENT,  /* the key must not exist (If-None-Match: *) */
};

/* 0 when the condition holds, SW_ECONFLICT when not. */
int sw_memory_check(const struct sw_memory *m, const char *ns, const char *key,
                    enum sw_mem_expect expect, int64_t version);

/* Writes value (moved in: the table owns value and labels after a success). Checks the
 * limits (SW_ETOO_LARGE naming the value, SW_ELIMIT for keys per namespace) but not the
 * condition (call sw_memory_check first). *out is the new entry. */
int sw_memory_put(struct sw_memory *m, const struct sw_mem_limits *lim, const char *ns,
                  const char *key, char *value, size_t value_len, char *labels, int64_t expire_at,
                  uint64_t revision, int64_t now, struct sw_mem_entry **out);
/* Removes the entry (the caller frees it with sw_mem_entry_free). NULL when absent. */
struct sw_mem_entry *sw_memory_remove(struct sw_memory *m, const char *ns, const char *key);
void sw_mem_entry_free(struct sw_mem_entry *e);
/* Adds a loaded entry (recovery). */
int sw_memory_restore(struct sw_memory *m, struct sw_mem_entry *e);
/* New entry from loaded columns (copies). */
struct sw_mem_entry *sw_mem_entry_new(const char *ns, const char *key, const char *value,
                                      size_t value_len, const char *labels);

/* The earliest expiry (0 when none); the entry that expires first, if due at now. */
int64_t sw_memory_next_expiry(const struct sw_memory *m);
struct sw_mem_entry *sw_memory_expired(const struct sw_memory *m, int64_t now);

/* Lists a namespace in key order: keys starting with prefix, after `cursor` (a key,
 * exclusive; NULL = from the start), up to limit. Fills out (borrowed entries) and
 * returns how many; *more = 1 when there are more. */
size_t sw_memory_list(struct sw_memory *m, const char *ns, const char *prefix, const char *cursor,
                      size_t limit, struct sw_mem_entry **out, int *more);
size_t sw_memory_ns_count(const struct sw_memory *m, const char *ns);

#endif
