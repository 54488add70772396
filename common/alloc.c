#include "mf/alloc.h"

#include <stdlib.h>
#include <string.h>

void *mf_xmalloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);

    if (p == NULL)
        abort();
    return p;
}

void *mf_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);

    if (p == NULL)
        abort();
    return p;
}

void *mf_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n != 0 ? n : 1);

    if (q == NULL)
        abort();
    return q;
}

char *mf_xstrdup(const char *s)
{
    return mf_xmemdup(s, strlen(s));
}

char *mf_xmemdup(const void *s, size_t n)
{
    char *p = mf_xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
