/* SHA-256 through OpenSSL EVP. */
#ifndef MF_HASH_H
#define MF_HASH_H

#include <stddef.h>
#include <stdint.h>
#include "mf/err.h"

#define MF_SHA256_HEX_LEN 65 /* 64 hex digits + NUL */

/* Reads fd from its current offset to EOF, hashing it. The first head_size bytes are copied
 * into head (may be NULL) and *head_len set to how many were read. *total receives the byte
 * count. Returns 0 or -errno / MF_E* with err set. Thread-safe; blocking. */
int mf_hash_fd(int fd, char hex[MF_SHA256_HEX_LEN], unsigned char *head, size_t head_size,
               size_t *head_len, int64_t *total, mf_err *err);

/* SHA-256 of len bytes at buf as 64 lowercase hex digits. */
void mf_hash_bytes(const void *buf, size_t len, char hex[MF_SHA256_HEX_LEN]);

#endif
