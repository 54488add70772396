/* libvips for untrusted input, as every lane that decodes images uses it. */
#ifndef MF_VIPSUTIL_H
#define MF_VIPSUTIL_H

#include <stddef.h>

#include "mf/err.h"

/* Starts libvips for program prog: untrusted loaders blocked (vips_block_untrusted_set), no
 * operation cache, one thread unless VIPS_CONCURRENCY says otherwise, and libvips's GLib
 * warnings sent to our log (debug level; critical ones at warn). Returns 0 or MF_ECONFIG. */
int mf_vips_init(const char *prog, mf_err *err);
/* The libvips error buffer as one readable line ("VipsJpeg: Premature end of input file"),
 * repeated lines dropped, "unknown libvips error" when empty; the buffer is cleared so the
 * next job starts clean. Returns buf. */
const char *mf_vips_error(char *buf, size_t size);

#endif
