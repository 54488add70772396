/* A small chained hash table with byte-string keys (copied) and pointer values, for the
 * dispatcher's two maps: inotify watch descriptor -> folder, and path -> job in flight.
 * Loop thread only. */
#ifndef MF_DISPATCH_HTAB_H
#define MF_DISPATCH_HTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct mf__hnode {
    struct mf__hnode *next;
    uint64_t hash;
    void *value;
    size_t klen;
    char key[]; /* klen bytes, then a NUL so string keys can be read as strings */
} mf__hnode;

typedef struct mf__htab {
    mf__hnode **buckets;
    size_t nbuckets; /* a power of two */
    size_t n;
} mf__htab;

void mf__htab_init(mf__htab *t);
/* Frees every node; free_value (may be NULL) is called on each value. */
void mf__htab_close(mf__htab *t, void (*free_value)(void *));
mf__hnode *mf__htab_get(const mf__htab *t, const void *key, size_t klen);
/* The node for key, created with value NULL when missing (*created set to 1). */
mf__hnode *mf__htab_put(mf__htab *t, const void *key, size_t klen, int *created);
/* Unlinks and frees node (not its value). */
void mf__htab_del(mf__htab *t, mf__hnode *node);
/* Iteration: start with *pos = 0 and prev NULL; returns NULL at the end. Deleting the
 * returned node before the next call is not allowed (collect first, then delete). */
mf__hnode *mf__htab_next(const mf__htab *t, size_t *pos, mf__hnode *prev);

#endif
