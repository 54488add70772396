/* mf-worker-doc: the document lane (see doc.h) run by the shared worker runtime. */
#include "mf/worker.h"
#include "doc.h"

int main(int argc, char **argv)
{
    mf_ocr_pin_threads(argv);
    return mf_worker_main(&mf_lane_doc, argc, argv);
}
