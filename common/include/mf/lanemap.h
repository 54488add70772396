/* MIME type -> lane, from the configurable glob lists (mime_image, mime_video, mime_doc).
 * Pure; thread-safe. */
#ifndef MF_LANEMAP_H
#define MF_LANEMAP_H

/* Returns "image", "video" or "doc" for the first lane (in that order) whose space-separated
 * fnmatch(3) globs match mime, or NULL when no lane takes it (status `unsupported`). */
const char *mf_lanemap_lane(const char *mime, const char *image_globs, const char *video_globs,
                            const char *doc_globs);

/* Applies the profile routes to a lane: routes is space-separated "profile:from=to" rules
 * (config profile_routes, default "ocr:image=doc": a scan of a page dropped in inbox/ocr/ is
 * a document to read, not a photo to thumbnail). Returns the routed lane ("image", "video",
 * "doc") or lane itself (which may be NULL) when no rule matches. */
const char *mf_lanemap_route(const char *lane, const char *profile, const char *routes);

#endif
