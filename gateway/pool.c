/* A few Redis connections shared by the request threads: taking one costs a mutex, and a
 * new one is opened only when all are busy (a connection also loads the job scripts, which
 * the gateway does not need but costs a few hundred microseconds once). */
#include "gw.h"

int mf_gw_redis_get(mf_gw *g, mf_redis **r, mf_err *err)
{
    int rc = 0;

    *r = NULL;
    pthread_mutex_lock(&g->pool_lock);
    if (g->npool > 0)
        *r = g->pool[--g->npool];
    pthread_mutex_unlock(&g->pool_lock);
    if (*r != NULL)
        goto out;
    rc = mf_redis_new(r, g->cfg->redis_url, err);
    if (rc < 0)
        goto out;
    mf_redis_set_timeout(*r, MF_GW_REDIS_TIMEOUT_MS);
    (void)mf_redis_set_name(*r, "gateway", err);
out:
    return rc;
}

/* A connection whose command failed is kept too: it reconnects by itself on its next command
 * with the gateway's short timeout, where a new one would wait out the library's default
 * timeout during its set-up if Redis accepts connections but does not answer (SIGSTOP). */
void mf_gw_redis_put(mf_gw *g, mf_redis *r, int failed)
{
    (void)failed;
    if (r == NULL)
        return;
    pthread_mutex_lock(&g->pool_lock);
    if (g->npool < MF_GW_POOL_MAX) {
        g->pool[g->npool++] = r;
        r = NULL;
    }
    pthread_mutex_unlock(&g->pool_lock);
    mf_redis_free(r);
}

void mf_gw_pool_close(mf_gw *g)
{
    pthread_mutex_lock(&g->pool_lock);
    while (g->npool > 0)
        mf_redis_free(g->pool[--g->npool]);
    pthread_mutex_unlock(&g->pool_lock);
}
