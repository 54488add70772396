/* libFuzzer harness for job decoding (workers/runtime/jobline.c): the executor reads its jobs,
 * and the worker the executor's replies, as JSON lines. Any bytes must decode or be refused
 * with MF_EPROTO and a message; a decoded job encodes to a line that decodes to the same job
 * (paths are bytes and travel as {"hex": ...} when they are not UTF-8), and holds the fields
 * the executor needs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "mf/executor.h"
#include "mf/lane.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int mf__same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void mf__check_job(const uint8_t *data, size_t size)
{
    mf_exec_job job, back;
    mf_err err = {0};
    char *line;
    size_t len;
    int rc = mf_exec_job_decode((const char *)data, size, &job, &err);

    if (rc < 0) {
        MF_FUZZ_CHECK(rc == MF_EPROTO && err.msg[0] != '\0');
        MF_FUZZ_CHECK(job.id == NULL && job.rel_path == NULL && job.outdir == NULL);
        return;
    }
    MF_FUZZ_CHECK(rc == 0);
    MF_FUZZ_CHECK(job.id != NULL && job.rel_path != NULL && job.outdir != NULL);
    line = mf_exec_job_encode(&job);
    len = strlen(line);
    MF_FUZZ_CHECK(len > 0 && line[len - 1] == '\n' && memchr(line, '\n', len - 1) == NULL);
    MF_FUZZ_CHECK(mf_exec_job_decode(line, len - 1, &back, &err) == 0);
    MF_FUZZ_CHECK(mf__same(job.id, back.id) && mf__same(job.rel_path, back.rel_path) &&
                  mf__same(job.profile, back.profile) && mf__same(job.mime, back.mime) &&
                  mf__same(job.outdir, back.outdir));
    free(line);
    mf_exec_job_close(&back);
    mf_exec_job_close(&job);
}

static void mf__check_reply(const uint8_t *data, size_t size)
{
    mf_result res;
    mf_err err = {0};
    int rc;

    memset(&res, 0, sizeof(res));
    rc = mf_exec_reply_decode((const char *)data, size, &res, &err);
    if (rc == 0)
        mf_result_close(&res);
    else
        MF_FUZZ_CHECK(rc < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024 * 1024)
        return 0;
    mf__check_job(data, size);
    mf__check_reply(data, size);
    return 0;
}
