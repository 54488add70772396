/* The check every harness uses instead of assert(): the CI build defines NDEBUG, which turns
 * assert() into nothing, so a harness built on it would check nothing there. MF_FUZZ_CHECK
 * prints the failed condition with where it is and aborts, in every build, so libFuzzer and
 * the corpus replay (fuzz/replay.c) both report it. */
#ifndef MF_FUZZ_CHECK_H
#define MF_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define MF_FUZZ_CHECK(cond)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
