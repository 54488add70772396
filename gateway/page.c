/* GET /: the status page, one self-contained HTML file (www/index.html: HTML, CSS and a
 * little JavaScript, no build step, no external fetch) compiled into the binary. The
 * configured profiles are put into it once (the upload form's choices). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "mf_www.h"

#define MF__PROFILES_MARK "__MF_PROFILES__"

static pthread_once_t mf__page_once = PTHREAD_ONCE_INIT;
static char *mf__page;
static const mf_config *mf__page_cfg;

/* The page with MF__PROFILES_MARK replaced by a JSON array of the profile names. */
static void mf__page_build(void)
{
    const char *mark = strstr(mf__www_index, MF__PROFILES_MARK);
    json_t *arr = json_array();
    const char *p = mf__page_cfg->profiles;
    char *list;
    size_t n;

    json_array_append_new(arr, json_string("default"));
    while (*p != '\0') {
        size_t k;
        p += strspn(p, " ");
        k = strcspn(p, " ");
        if (k > 0)
            json_array_append_new(arr, json_stringn(p, k));
        p += k;
    }
    list = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (list == NULL || mark == NULL) {
        mf__page = strdup(mf__www_index);
    } else {
        n = strlen(mf__www_index) + strlen(list) + 1;
        mf__page = malloc(n);
        if (mf__page != NULL)
            snprintf(mf__page, n, "%.*s%s%s", (int)(mark - mf__www_index), mf__www_index, list,
                     mark + strlen(MF__PROFILES_MARK));
    }
    if (mf__page == NULL)
        abort();
    free(list);
}

enum MHD_Result mf_gw_page(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq)
{
    mf__page_cfg = g->cfg;
    pthread_once(&mf__page_once, mf__page_build);
    return mf_gw_reply(c, rq, MHD_HTTP_OK, "text/html; charset=utf-8", mf__page, strlen(mf__page),
                       0);
}
