#!/usr/bin/env bash
# Builds mediafleet's container images with podman where no container registry is reachable
# (run from anywhere; needs podman, mmdebstrap and a Debian mirror apt can reach):
#   1. the base image: `mmdebstrap --variant=minbase bookworm` into a tarball, with this
#      machine's apt sources and proxy settings, cached as
#      $MF_CONTAINER_CACHE/debian-bookworm-minbase-<date>.tar (default: build/container) and
#      imported as localhost/mediafleet-base:bookworm-<date>;
#   2. mediafleet:latest from deploy/container/Containerfile with BASE set to that image,
#      also tagged mediafleet:src-<key>, <key> from the git tree hash of the sources as they
#      are in the work tree (untracked files too; not tests/integration, which the image
#      does not hold): a second run on the same sources (the ASan build's tests, say) reuses
#      the image instead of building it again;
#   3. mediafleet-redis:7 from deploy/container/Containerfile.redis, also tagged redis:7 (the
#      image deploy/k8s/10-redis.yaml names).
# Where a registry is reachable, plain `podman build` (or docker build) with the default BASE,
# debian:bookworm-slim, does the same: see the README.
# Environment: MF_CONTAINER_CACHE (the cache folder), MF_CONTAINER_REBUILD=1 (build even when
# an image of these sources exists). Prints the image's tag last.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${MF_CONTAINER_CACHE:-$ROOT/build/container}
mkdir -p "$CACHE"
# shellcheck source-path=SCRIPTDIR source=podman-env.sh
source "$ROOT/deploy/container/podman-env.sh"
log() { printf 'container/build: %s\n' "$*" >&2; }
mf_podman_storage || {
    log "podman does not work here: $(podman info 2>&1 | tail -1)"
    exit 77
}

# 1. the base, once a day. As debian:bookworm-slim: no manual pages, translations or
# documentation but the copyrights (dpkg path-exclude), dpkg without fsync (force-unsafe-io,
# much faster in a container layer), apt without translations; these options stay in the
# image (/etc/dpkg/dpkg.cfg.d, /etc/apt/apt.conf.d) for the stages' own apt-get.
slim=(--dpkgopt=force-unsafe-io --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --aptopt='Acquire::Languages "none"')
# the host's apt sources (deb822 or one-line) and its Acquire:: proxy and validity settings,
# so apt inside the base reaches the same mirror the same way
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -s "$f" ] && grep -qE '^[[:space:]]*(deb |Types:)' "$f" && sources+=("$f")
done
aptopts=()
while IFS= read -r line; do
    aptopts+=(--aptopt="$line")
done < <(apt-config dump 2>/dev/null | grep -E '^Acquire::(https?|ftp)::Proxy|^Acquire::Check-(Valid-Until|Date) ' || true)
# the base's name: the day and what made it
key=$(printf '%s\n' "${slim[@]}" "${aptopts[@]}" | cat - "${sources[@]}" | sha1sum | cut -c1-8)
name=bookworm-$(date -u +%Y%m%d)-$key
BASE=localhost/mediafleet-base:$name
if ! podman image exists "$BASE"; then
    tar=$CACHE/debian-minbase-$name.tar
    if [ ! -s "$tar" ]; then
        for v in http_proxy https_proxy no_proxy; do
            [ -z "${!v:-}" ] || log "using $v from the environment"
        done
        log "making the base with mmdebstrap (a minute or two): $tar"
        rm -f "$tar.tmp"
        mmdebstrap --variant=minbase --format=tar "${slim[@]}" "${aptopts[@]}" bookworm "$tar.tmp" \
            "${sources[@]}" >"$CACHE/mmdebstrap.log" 2>&1 || {
            tail -20 "$CACHE/mmdebstrap.log" >&2
            exit 1
        }
        mv "$tar.tmp" "$tar"
        # older bases' tarballs
        find "$CACHE" -maxdepth 1 -name 'debian-minbase-*.tar' ! -name "${tar##*/}" -delete
    fi
    log "importing $tar as $BASE"
    podman import --change 'CMD ["/bin/bash"]' "$tar" "$BASE" >/dev/null
fi
# 77: podman runs no container here (the tests skip)
mf_podman_env "$BASE" "$CACHE" || {
    log "podman cannot run a container of $BASE here: $(podman run --rm --network none "$BASE" true 2>&1 | tail -1)"
    exit 77
}

# 2. the image of these sources: its key is the git tree hash of the work tree as it is
# (untracked files too, through a scratch index: the real one is left alone), without what
# .dockerignore keeps out of the build
unused=(tests/integration deploy/k8s deploy/sim deploy/compose.yaml deploy/container/build.sh
    deploy/container/podman-env.sh deploy/container/Containerfile.redis)
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    idx=$(mktemp "$CACHE/index.XXXXXX")
    rm -f "$idx"
    tree=$(cd "$ROOT" && GIT_INDEX_FILE=$idx git add -A . && GIT_INDEX_FILE=$idx git write-tree)
    rm -f "$idx"
    tree=$(git -C "$ROOT" ls-tree -r "$tree" |
        grep -v -E "$(printf '\t(%s)(/|$)|' "${unused[@]}")^\$" | sha1sum)
else
    prune=(-path './build*' -o -path ./.git)
    for u in "${unused[@]}"; do prune+=(-o -path "./$u"); done
    tree=$(cd "$ROOT" && find . \( "${prune[@]}" \) -prune -o -type f -print0 | sort -z |
        xargs -0 sha1sum | sha1sum)
fi
TAG=localhost/mediafleet:src-${tree:0:16}

# 3. redis, at the same time (its layers are cached after the first build)
podman build --format docker --pull=never --build-arg BASE="$BASE" \
    -f "$ROOT/deploy/container/Containerfile.redis" -t localhost/mediafleet-redis:7 \
    "$ROOT/deploy/container" >"$CACHE/redis-build.log" 2>&1 &
redis_pid=$!

if [ -z "${MF_CONTAINER_REBUILD:-}" ] && podman image exists "$TAG"; then
    log "$TAG exists (same sources): not rebuilt"
else
    log "building $TAG on $BASE"
    podman build --format docker --pull=never --build-arg BASE="$BASE" \
        -f "$ROOT/deploy/container/Containerfile" -t "$TAG" "$ROOT" >&2
fi
podman tag "$TAG" localhost/mediafleet:latest
wait "$redis_pid" || {
    tail -20 "$CACHE/redis-build.log" >&2
    log "building localhost/mediafleet-redis:7 failed"
    exit 1
}
podman tag localhost/mediafleet-redis:7 localhost/redis:7
# images of older sources and bases go (their layers are ~1 GB each); one still in use by a
# container, or below another image, stays
podman images --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/mediafleet(-base)?:(src|bookworm)-' |
    grep -v -x -e "$TAG" -e "$BASE" | xargs -r -n1 podman rmi >/dev/null 2>&1 || true
echo "$TAG"
