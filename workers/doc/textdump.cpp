/* pdftotext's text of a page through poppler-cpp (see textdump.h for why not poppler-glib).
 *
 * C++ stays in this file: every entry point is extern "C" and catches every exception (an
 * allocation failure inside poppler-cpp is std::bad_alloc), so none reaches the C lane.
 *
 * poppler's global state (GlobalParams, its error callback) is shared with poppler-glib
 * through poppler's reference-counted GlobalParamsIniter: whichever library opens a document
 * first installs the error callback, here always poppler-glib (the lane opens with it first),
 * so poppler's diagnostics are handled as before. */
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <vector>

/* by their folder: poppler-glib has headers of the same names */
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-page.h>

/* err.h is a C header without extern "C" of its own. */
extern "C" {
#include "mf/err.h"
}
#include "textdump.h"

struct mf_textdump {
    std::unique_ptr<poppler::document> doc;
};

/* The exception being handled as an mf_err: "<what>: <why>". Call from a catch block. */
static int mf__textdump_caught(mf_err *err, const char *call)
{
    try {
        throw;
    } catch (const std::bad_alloc &) {
        return mf_err_set(err, MF_EMEMLIMIT, "%s: out of memory", call);
    } catch (const std::exception &e) {
        return mf_err_set(err, MF_ECORRUPT, "%s: %s", call, e.what());
    } catch (...) {
        return mf_err_set(err, MF_ECORRUPT, "%s: unknown C++ exception", call);
    }
}

extern "C" int mf_textdump_open(const char *file, mf_textdump **out, mf_err *err)
{
    mf_textdump *td = nullptr;
    int rc = 0;

    *out = nullptr;
    try {
        td = new mf_textdump();
        td->doc.reset(poppler::document::load_from_file(file));
        if (!td->doc) {
            /* poppler-glib opened this file a moment ago: only a file poppler-cpp judges
             * differently gets here */
            rc = mf_err_set(err, MF_ECORRUPT,
                            "PDF cannot be opened: poppler cannot read it for its text");
        } else if (td->doc->is_locked()) {
            rc = mf_err_set(err, MF_EUNSUPPORTED,
                            "PDF is password-protected (user password required)");
        }
    } catch (...) {
        rc = mf__textdump_caught(err, "PDF cannot be opened");
    }
    if (rc < 0) {
        delete td;
        td = nullptr;
    }
    *out = td;
    return rc;
}

extern "C" void mf_textdump_free(mf_textdump *td)
{
    delete td;
}

extern "C" int mf_textdump_encrypted(const mf_textdump *td)
{
    return td->doc->is_encrypted() ? 1 : 0;
}

extern "C" int mf_textdump_page(mf_textdump *td, int index, char **text, mf_err *err)
{
    int rc = 0;

    *text = nullptr;
    try {
        std::unique_ptr<poppler::page> page(td->doc->create_page(index));
        if (!page)
            return mf_err_set(err, MF_ECORRUPT,
                              "extracting the text failed: poppler cannot "
                              "read the page");
        /* an empty rectangle is the whole page: TextOutputDev's dump, as pdftotext */
        std::vector<char> utf8 =
            page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout).to_utf8();
        *text = static_cast<char *>(std::malloc(utf8.size() + 1));
        if (*text == nullptr)
            std::abort();
        if (!utf8.empty())
            std::memcpy(*text, utf8.data(), utf8.size());
        (*text)[utf8.size()] = '\0';
    } catch (...) {
        rc = mf__textdump_caught(err, "extracting the text failed");
    }
    return rc;
}
