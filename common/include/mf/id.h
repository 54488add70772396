/* Upload ids: ULIDs (26 Crockford base32 characters, time-sortable, 80 random bits), so ids
 * from many dispatchers never collide and `redis-cli --scan` lists them in arrival order. */
#ifndef MF_ID_H
#define MF_ID_H

#include <stdint.h>

#define MF_ID_LEN 27 /* 26 + NUL */

/* Fills id from epoch_ms and getrandom(2). Thread-safe. */
void mf_id_new(char id[MF_ID_LEN], int64_t epoch_ms);
/* 1 if s looks like an id (26 base32 characters). */
int mf_id_valid(const char *s);

#endif
