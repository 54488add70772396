/* mf_result: what a lane hands back for one job (see mf/lane.h). */
#include "mf/lane.h"

void mf_result_init(mf_result *res)
{
    res->meta = json_object();
    res->outputs = json_array();
}

void mf_result_close(mf_result *res)
{
    if (res == NULL)
        return;
    json_decref(res->meta);
    json_decref(res->outputs);
    res->meta = NULL;
    res->outputs = NULL;
}

void mf_result_add_output(mf_result *res, const char *name)
{
    json_t *s = json_string(name);

    /* Output names are chosen by the lane ("thumb-256.webp"), so they are ASCII; a name that is
     * not UTF-8 is a bug in the lane, and dropping it beats aborting the job. */
    if (s != NULL)
        json_array_append_new(res->outputs, s);
}
