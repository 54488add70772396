/* MIME type -> lane, from the configurable glob lists (mime_<lane>, one per lane of the
 * registry mf/lanes.h). Pure; thread-safe. */
#ifndef MF_LANEMAP_H
#define MF_LANEMAP_H

#include <stddef.h>

/* globs[i] (n entries, NULL entries allowed) is the space-separated fnmatch(3) glob list of
 * the registry's lane i (mf_lanes[i]; config: cfg->lane_mime). Returns the name of the first
 * lane in registry order whose globs match mime (a string of the registry: static), or NULL
 * when no lane takes it (status `unsupported`). Entries past the registry are ignored. */
const char *mf_lanemap_lane(const char *mime, const char *const *globs, size_t n);

/* Applies the profile routes to a lane: routes is space-separated "profile:from=to" rules
 * (config profile_routes, default "ocr:image=doc": a scan of a page dropped in inbox/ocr/ is
 * a document to read, not a photo to thumbnail). Returns the routed lane (a registry name) or
 * lane itself (which may be NULL) when no rule matches; a rule naming a lane that is not in
 * the registry never matches. */
const char *mf_lanemap_route(const char *lane, const char *profile, const char *routes);

#endif
