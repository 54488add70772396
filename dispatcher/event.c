/* What one inotify event means for the dispatcher. Kept pure so the rules can be tested
 * without a kernel in the loop. */
#include "mf/dispatch.h"

#include "mf/pathrule.h"

mf_dispatch_action mf_dispatch_decide(uint32_t mask, const char *name)
{
    int has_name = name != NULL && name[0] != '\0';

    if (mask & IN_Q_OVERFLOW)
        return MF_DISPATCH_RESCAN;
    if (mask & IN_IGNORED)
        return MF_DISPATCH_WATCH_GONE;
    /* about the watched folder itself: IN_IGNORED follows and does the bookkeeping */
    if (!has_name)
        return MF_DISPATCH_NONE;
    if (mask & IN_ISDIR) {
        /* a folder moved away is forgotten even when its name is ignored: it may have been
         * watched under that name if it was renamed after we saw it */
        if (mask & IN_MOVED_FROM)
            return MF_DISPATCH_DIR_GONE;
        if ((mask & (IN_CREATE | IN_MOVED_TO)) && !mf_path_ignored(name))
            return MF_DISPATCH_DIR_NEW;
        return MF_DISPATCH_NONE;
    }
    if (mf_path_ignored(name))
        return MF_DISPATCH_NONE;
    /* a close after writing or a rename into place says a file is complete */
    if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
        return MF_DISPATCH_FILE;
    /* IN_CREATE of a file (or a symlink) is a new name: of a file being written, whose close
     * will come, or a hard link to a complete one, which gets no other event. The watcher
     * (watch.c) stats a new name its writer has not closed within a moment. */
    if (mask & IN_CREATE)
        return MF_DISPATCH_FILE_NAME;
    return MF_DISPATCH_NONE;
}

const char *mf_dispatch_action_name(mf_dispatch_action action)
{
    switch (action) {
    case MF_DISPATCH_NONE:
        return "none";
    case MF_DISPATCH_FILE:
        return "file";
    case MF_DISPATCH_FILE_NAME:
        return "file-name";
    case MF_DISPATCH_DIR_NEW:
        return "dir-new";
    case MF_DISPATCH_DIR_GONE:
        return "dir-gone";
    case MF_DISPATCH_WATCH_GONE:
        return "watch-gone";
    case MF_DISPATCH_RESCAN:
        return "rescan";
    }
    return "unknown";
}
