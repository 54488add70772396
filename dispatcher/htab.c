/* Chained hashing with FNV-1a; doubles at load factor 1. Simple beats clever here: the wd
 * map holds one entry per watched folder and the in-flight map at most a few thousand. */
#include "htab.h"

#include <stdlib.h>
#include <string.h>

#include "mf/alloc.h"

#define MF__HTAB_MIN 64

static uint64_t mf__fnv1a(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void mf__htab_init(mf__htab *t)
{
    t->nbuckets = MF__HTAB_MIN;
    t->n = 0;
    t->buckets = mf_xcalloc(t->nbuckets, sizeof(*t->buckets));
}

void mf__htab_close(mf__htab *t, void (*free_value)(void *))
{
    if (t == NULL || t->buckets == NULL)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        mf__hnode *n = t->buckets[i];

        while (n != NULL) {
            mf__hnode *next = n->next;

            if (free_value != NULL)
                free_value(n->value);
            free(n);
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->n = 0;
}

mf__hnode *mf__htab_get(const mf__htab *t, const void *key, size_t klen)
{
    uint64_t h = mf__fnv1a(key, klen);

    for (mf__hnode *n = t->buckets[h & (t->nbuckets - 1)]; n != NULL; n = n->next) {
        if (n->hash == h && n->klen == klen && memcmp(n->key, key, klen) == 0)
            return n;
    }
    return NULL;
}

static void mf__htab_grow(mf__htab *t)
{
    size_t nb = t->nbuckets * 2;
    mf__hnode **b = mf_xcalloc(nb, sizeof(*b));

    for (size_t i = 0; i < t->nbuckets; i++) {
        mf__hnode *n = t->buckets[i];

        while (n != NULL) {
            mf__hnode *next = n->next;

            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

mf__hnode *mf__htab_put(mf__htab *t, const void *key, size_t klen, int *created)
{
    mf__hnode *n = mf__htab_get(t, key, klen);
    size_t slot;

    *created = 0;
    if (n != NULL)
        return n;
    if (t->n >= t->nbuckets)
        mf__htab_grow(t);
    n = mf_xmalloc(sizeof(*n) + klen + 1);
    n->hash = mf__fnv1a(key, klen);
    n->value = NULL;
    n->klen = klen;
    memcpy(n->key, key, klen);
    n->key[klen] = '\0';
    slot = n->hash & (t->nbuckets - 1);
    n->next = t->buckets[slot];
    t->buckets[slot] = n;
    t->n++;
    *created = 1;
    return n;
}

void mf__htab_del(mf__htab *t, mf__hnode *node)
{
    mf__hnode **pp = &t->buckets[node->hash & (t->nbuckets - 1)];

    while (*pp != NULL && *pp != node)
        pp = &(*pp)->next;
    if (*pp == NULL)
        return;
    *pp = node->next;
    t->n--;
    free(node);
}

mf__hnode *mf__htab_next(const mf__htab *t, size_t *pos, mf__hnode *prev)
{
    if (prev != NULL && prev->next != NULL)
        return prev->next;
    if (prev != NULL)
        (*pos)++;
    for (; *pos < t->nbuckets; (*pos)++) {
        if (t->buckets[*pos] != NULL)
            return t->buckets[*pos];
    }
    return NULL;
}
