/* mf-worker-doc: the supervisor of the document lane. It links no media library; the lane runs
 * in mf-exec-doc (exec.c), which it starts (see mf/worker.h). */
#include <stdlib.h>
#include "mf/worker.h"

int main(int argc, char **argv)
{
    /* See mf_ocr_pin_threads() in doc.h: set here, libgomp in the executor sees it from the
     * start and mf-exec-doc has no need to re-execute itself. */
    setenv("OMP_THREAD_LIMIT", "1", 0);
    return mf_worker_main("doc", argc, argv);
}
