/* A page's text exactly as pdftotext prints it: a small C interface over poppler-cpp
 * (textdump.cpp), so the rest of the document lane stays C and no C++ type or exception
 * crosses into it.
 *
 * Why not poppler_page_get_text(): poppler-glib's text is a *selection* of the whole page
 * (TextPage::getSelectionText), built word by word for a viewer. That path (1) draws only the
 * page's content stream, not its annotations, so the values of a filled-in form (drawn by the
 * widgets' appearance streams) are missing, and (2) wraps each right-to-left word in its own
 * bidi embedding and decides the space after a word in visual order, so Arabic and Hebrew
 * words run together (a page that is all right-to-left may even select nothing). pdftotext
 * uses TextOutputDev's dump of flows, blocks and lines (physical layout off), which reorders
 * whole lines; poppler-cpp's page::text() with non_raw_non_physical_layout is that same dump.
 *
 * The document is opened a second time for this (poppler-glib's PopplerDocument has no way to
 * its core objects); parsing the cross-reference table again is cheap next to the text.
 *
 * Threading: one mf_textdump per thread. Errors: 0 or a negative mf error code with err set;
 * no C++ exception escapes. */
#ifndef MF_DOC_TEXTDUMP_H
#define MF_DOC_TEXTDUMP_H

#include "mf/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mf_textdump mf_textdump;

/* Opens the PDF at file (a path poppler can open: /proc/self/fd/N works). Returns 0 and *out
 * (free with mf_textdump_free()), or MF_ECORRUPT / MF_EUNSUPPORTED (user password) with err
 * set, *out NULL. err never names file. */
int mf_textdump_open(const char *file, mf_textdump **out, mf_err *err);
void mf_textdump_free(mf_textdump *td); /* NULL-safe */

/* 1 when poppler decrypts the document (it set up a security handler), else 0. A file whose
 * trailer names an encryption dictionary that poppler could not use reads 0 here. */
int mf_textdump_encrypted(const mf_textdump *td);

/* The text of page index (0-based) as pdftotext prints it, its closing form feed included,
 * as a heap string (free()) in *text. Returns 0, or MF_ECORRUPT with err set. */
int mf_textdump_page(mf_textdump *td, int index, char **text, mf_err *err);

#ifdef __cplusplus
}
#endif

#endif
