/* Allocation that cannot fail (STYLE.md, as Redis's zmalloc): when memory runs out the process
 * aborts and its supervisor restarts it, so no caller carries an out-of-memory path that is
 * never tested. Sizes that come from files or from Redis must be bounded before they get
 * here (they go through bounded buffers that return an error instead). Thread-safe. */
#ifndef MF_ALLOC_H
#define MF_ALLOC_H

#include <stddef.h>

/* malloc(n), n == 0 allowed (returns a unique pointer); never NULL. */
void *mf_xmalloc(size_t n);
/* calloc(n, size); never NULL; aborts on overflow of n * size too. */
void *mf_xcalloc(size_t n, size_t size);
/* realloc(p, n); never NULL. */
void *mf_xrealloc(void *p, size_t n);
/* strdup(s); never NULL. */
char *mf_xstrdup(const char *s);
/* n bytes of s plus a NUL (s may hold NULs); never NULL. */
char *mf_xmemdup(const void *s, size_t n);

#endif
