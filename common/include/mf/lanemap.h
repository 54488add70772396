/* MIME type -> lane, from the configurable glob lists (mime_image, mime_video, mime_doc).
 * Pure; thread-safe. */
#ifndef MF_LANEMAP_H
#define MF_LANEMAP_H

/* Returns "image", "video" or "doc" for the first lane (in that order) whose space-separated
 * fnmatch(3) globs match mime, or NULL when no lane takes it (status `unsupported`). */
const char *mf_lanemap_lane(const char *mime, const char *image_globs, const char *video_globs,
                            const char *doc_globs);

#endif
