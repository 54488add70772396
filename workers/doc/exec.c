/* mf-exec-doc: the document lane (see doc.h) on the shared worker runtime, run by
 * mf-worker-doc as its executor (poppler, cairo, tesseract are loaded here only). */
#include "mf/worker.h"
#include "doc.h"

int main(int argc, char **argv)
{
    mf_ocr_pin_threads(argv);
    return mf_exec_main(&mf_lane_doc, argc, argv);
}
