/* SPDX-License-Identifier: MIT
 * memory.c - the shared memory's table: namespaces of keys, the expiry heap, sorted
 * listing, the write conditions. */
#include "memory.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

void sw_memory_init(struct sw_memory *m)
{
    memset(m, 0, sizeof *m);
    sw_strmap_init(&m->spaces);
}

void sw_mem_entry_free(struct sw_mem_entry *e)
{
    if (e == NULL)
        return;
    sw_free(e->id);
    sw_free(e->value);
    sw_free(e->labels);
    sw_free(e);
}

static void ns_free(struct sw_mem_ns *n)
{
    size_t pos = 0;
    void *v;
    while (sw_strmap_next(&n->keys, &pos, NULL, &v))
        sw_mem_entry_free(v);
    sw_strmap_free(&n->keys);
    sw_free(n->sorted);
    sw_free(n->name);
    sw_free(n);
}

void sw_memory_free(struct sw_memory *m)
{
    size_t pos = 0;
    void *v;
    while (sw_strmap_next(&m->spaces, &pos, NULL, &v))
        ns_free(v);
    sw_strmap_free(&m->spaces);
    sw_free(m->ttl);
    memset(m, 0, sizeof *m);
}

int sw_mem_ns_valid(const char *ns)
{
    size_t n = strlen(ns);
    if (n == 0 || n > SW_MEM_NS_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = ns[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-')))
            return 0;
    }
    return 1;
}

int sw_mem_key_valid(const char *key, size_t max_key)
{
    size_t n = strlen(key);
    if (n == 0 || n > max_key || key[0] == '/' || key[n - 1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f || (c == '/' && key[i + 1] == '/'))
            return 0;
    }
    return 1;
}

struct sw_mem_entry *sw_mem_entry_new(const char *ns, const char *key, const char *value,
                                      size_t value_len, const char *labels)
{
    struct sw_mem_entry *e = sw_calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    size_t nl = strlen(ns), kl = strlen(key);
    e->id = sw_malloc(nl + kl + 2);
    e->value = value ? sw_malloc(value_len + 1) : NULL;
    e->labels = labels ? sw_strdup(labels) : NULL;
    if (e->id == NULL || (value && e->value == NULL) || (labels && e->labels == NULL)) {
        sw_mem_entry_free(e);
        return NULL;
    }
    memcpy(e->id, ns, nl);
    e->id[nl] = '\0';
    memcpy(e->id + nl + 1, key, kl + 1);
    e->ns = e->id;
    e->key = e->id + nl + 1;
    if (value) {
        memcpy(e->value, value, value_len);
        e->value[value_len] = '\0';
        e->value_len = value_len;
    }
    e->ttl_index = SW_MEM_NONE;
    return e;
}

static struct sw_mem_ns *ns_get(const struct sw_memory *m, const char *ns)
{
    return sw_strmap_get(&m->spaces, ns);
}

struct sw_mem_entry *sw_memory_get(const struct sw_memory *m, const char *ns, const char *key)
{
    struct sw_mem_ns *n = ns_get(m, ns);
    return n ? sw_strmap_get(&n->keys, key) : NULL;
}

size_t sw_memory_ns_count(const struct sw_memory *m, const char *ns)
{
    struct sw_mem_ns *n = ns_get(m, ns);
    return n ? n->keys.count : 0;
}

int sw_memory_check(const struct sw_memory *m, const char *ns, const char *key,
                    enum sw_mem_expect expect, int64_t version)
{
    struct sw_mem_entry *e = sw_memory_get(m, ns, key);
    switch (expect) {
    case SW_MEM_ANY:
        return 0;
    case SW_MEM_ABSENT:
        return e ? SW_ECONFLICT : 0;
    case SW_MEM_VERSION:
        if (version == 0)
            return e ? SW_ECONFLICT : 0;
        return e && e->version == version ? 0 : SW_ECONFLICT;
    }
    return SW_EINVAL;
}

/* ---- expiry heap ---- */

static void ttl_swap(struct sw_memory *m, size_t i, size_t j)
{
    struct sw_mem_entry *t = m->ttl[i];
    m->ttl[i] = m->ttl[j];
    m->ttl[j] = t;
    m->ttl[i]->ttl_index = i;
    m->ttl[j]->ttl_index = j;
}

static void ttl_up(struct sw_memory *m, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (m->ttl[p]->expire_at <= m->ttl[i]->expire_at)
            break;
        ttl_swap(m, i, p);
        i = p;
    }
}

static void ttl_down(struct sw_memory *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < m->nttl && m->ttl[l]->expire_at < m->ttl[min]->expire_at)
            min = l;
        if (r < m->nttl && m->ttl[r]->expire_at < m->ttl[min]->expire_at)
            min = r;
        if (min == i)
            return;
        ttl_swap(m, i, min);
        i = min;
    }
}

static void ttl_remove(struct sw_memory *m, struct sw_mem_entry *e)
{
    size_t i = e->ttl_index;
    if (i == SW_MEM_NONE)
        return;
    e->ttl_index = SW_MEM_NONE;
    if (i != --m->nttl) {
        m->ttl[i] = m->ttl[m->nttl];
        m->ttl[i]->ttl_index = i;
        ttl_down(m, i);
        ttl_up(m, i);
    }
}

static int ttl_reserve(struct sw_memory *m)
{
    if (m->nttl < m->capttl)
        return 0;
    size_t cap = m->capttl ? m->capttl * 2 : 64;
    struct sw_mem_entry **items = sw_realloc(m->ttl, cap * sizeof *items);
    if (items == NULL)
        return SW_ENOMEM;
    m->ttl = items;
    m->capttl = cap;
    return 0;
}

static void ttl_set(struct sw_memory *m, struct sw_mem_entry *e)
{
    if (e->expire_at == 0) {
        ttl_remove(m, e);
        return;
    }
    if (e->ttl_index == SW_MEM_NONE) {
        e->ttl_index = m->nttl;
        m->ttl[m->nttl++] = e;
    }
    ttl_down(m, e->ttl_index);
    ttl_up(m, e->ttl_index);
}

int64_t sw_memory_next_expiry(const struct sw_memory *m)
{
    return m->nttl ? m->ttl[0]->expire_at : 0;
}

struct sw_mem_entry *sw_memory_expired(const struct sw_memory *m, int64_t now)
{
    return m->nttl && m->ttl[0]->expire_at <= now ? m->ttl[0] : NULL;
}

/* ---- writes ---- */

static struct sw_mem_ns *ns_make(struct sw_memory *m, const char *ns)
{
    struct sw_mem_ns *n = ns_get(m, ns);
    if (n)
        return n;
    n = sw_calloc(1, sizeof *n);
    if (n == NULL || (n->name = sw_strdup(ns)) == NULL) {
        sw_free(n);
        return NULL;
    }
    sw_strmap_init(&n->keys);
    if (sw_strmap_put(&m->spaces, n->name, n)) {
        ns_free(n);
        return NULL;
    }
    return n;
}

static int ns_add(struct sw_memory *m, struct sw_mem_ns *n, struct sw_mem_entry *e)
{
    if (sw_strmap_put(&n->keys, e->key, e))
        return SW_ENOMEM;
    n->sorted_stale = 1;
    m->keys++;
    m->bytes += e->value_len;
    return 0;
}

int sw_memory_put(struct sw_memory *m, const struct sw_mem_limits *lim, const char *ns,
                  const char *key, char *value, size_t value_len, char *labels, int64_t expire_at,
                  uint64_t revision, int64_t now, struct sw_mem_entry **out)
{
    if (lim && lim->max_value && value_len > lim->max_value)
        return SW_ETOO_LARGE;
    if (expire_at && ttl_reserve(m))
        return SW_ENOMEM;
    struct sw_mem_entry *e = sw_memory_get(m, ns, key);
    if (e == NULL) {
        struct sw_mem_ns *n = ns_get(m, ns);
        if (lim && lim->max_keys_per_ns && n && n->keys.count >= lim->max_keys_per_ns)
            return SW_ELIMIT;
        if ((n = ns_make(m, ns)) == NULL)
            return SW_ENOMEM;
        e = sw_mem_entry_new(ns, key, NULL, 0, NULL);
        if (e == NULL || ns_add(m, n, e)) {
            sw_mem_entry_free(e);
            return SW_ENOMEM;
        }
        e->created_at = now;
    }
    m->bytes -= e->value_len;
    sw_free(e->value);
    sw_free(e->labels);
    e->value = value;
    e->value_len = value_len;
    e->labels = labels;
    m->bytes += value_len;
    e->version++;
    e->revision = revision;
    e->updated_at = now;
    e->expire_at = expire_at;
    ttl_set(m, e);
    *out = e;
    return 0;
}

struct sw_mem_entry *sw_memory_remove(struct sw_memory *m, const char *ns, const char *key)
{
    struct sw_mem_ns *n = ns_get(m, ns);
    struct sw_mem_entry *e = n ? sw_strmap_del(&n->keys, key) : NULL;
    if (e == NULL)
        return NULL;
    ttl_remove(m, e);
    n->sorted_stale = 1;
    m->keys--;
    m->bytes -= e->value_len;
    if (n->keys.count == 0) {
        sw_strmap_del(&m->spaces, n->name);
        ns_free(n);
    }
    return e;
}

int sw_memory_restore(struct sw_memory *m, struct sw_mem_entry *e)
{
    if (e->expire_at && ttl_reserve(m))
        return SW_ENOMEM;
    struct sw_mem_ns *n = ns_make(m, e->ns);
    if (n == NULL || ns_add(m, n, e))
        return SW_ENOMEM;
    ttl_set(m, e);
    return 0;
}

/* ---- listing ---- */

static int entry_cmp(const void *a, const void *b)
{
    const struct sw_mem_entry *x = *(struct sw_mem_entry *const *)a;
    const struct sw_mem_entry *y = *(struct sw_mem_entry *const *)b;
    return strcmp(x->key, y->key);
}

static int ns_sort(struct sw_mem_ns *n)
{
    if (!n->sorted_stale && n->sorted)
        return 0;
    struct sw_mem_entry **all = sw_malloc((n->keys.count + 1) * sizeof *all);
    if (all == NULL)
        return SW_ENOMEM;
    size_t pos = 0, i = 0;
    void *v;
    while (sw_strmap_next(&n->keys, &pos, NULL, &v))
        all[i++] = v;
    qsort(all, i, sizeof *all, entry_cmp);
    sw_free(n->sorted);
    n->sorted = all;
    n->nsorted = i;
    n->sorted_stale = 0;
    return 0;
}

size_t sw_memory_list(struct sw_memory *m, const char *ns, const char *prefix, const char *cursor,
                      size_t limit, struct sw_mem_entry **out, int *more)
{
    *more = 0;
    struct sw_mem_ns *n = ns_get(m, ns);
    if (n == NULL || ns_sort(n))
        return 0;
    size_t plen = prefix ? strlen(prefix) : 0;
    const char *from = prefix && (!cursor || strcmp(cursor, prefix) < 0) ? prefix : cursor;
    /* binary search: the first key > cursor (or >= prefix) */
    size_t lo = 0, hi = n->nsorted;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = from ? strcmp(n->sorted[mid]->key, from) : 1;
        if (c < 0 || (c == 0 && from == cursor))
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t count = 0;
    for (size_t i = lo; i < n->nsorted; i++) {
        struct sw_mem_entry *e = n->sorted[i];
        if (plen && strncmp(e->key, prefix, plen) != 0)
            break;
        if (count == limit) {
            *more = 1;
            break;
        }
        out[count++] = e;
    }
    return count;
}
