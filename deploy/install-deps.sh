#!/usr/bin/env bash
# Installs what mediafleet needs to build, test and run on Debian 12 (bookworm).
# Idempotent: asks dpkg first and only runs apt-get when something is missing.
#   install-deps.sh           everything: build, package, run and test
#   install-deps.sh --build   only what builds the binaries and the .deb (`cpack -G DEB`): the
#                             build stage of deploy/container/Containerfile runs this
set -euo pipefail

# To build and package: compilers, the libraries' -dev packages, dpkg-shlibdeps (dpkg-dev,
# in build-essential) and file (CPack's ELF detection for it); cmocka because configuring
# the tree configures its unit tests
BUILD_PACKAGES=(
    build-essential cmake pkg-config file libcmocka-dev
    libuv1-dev libhiredis-dev libjansson-dev libinih-dev libssl-dev libmagic-dev
    libcurl4-openssl-dev
    libvips-dev liblcms2-dev
    # image lane: HEIF/AVIF through libheif itself (transforms), WebP chunks stripped with
    # libwebpmux (both also pulled in by libvips-dev)
    libheif-dev libwebp-dev
    # image faces (meta.faces): OpenCV's cascade classifier
    libopencv-objdetect-dev
    libavformat-dev libavcodec-dev libswscale-dev libswresample-dev libavutil-dev
    libpoppler-glib-dev libcairo2-dev libpng-dev
    # doc lane text: pdftotext's text dump through poppler-cpp (workers/doc/textdump.cpp)
    libpoppler-cpp-dev
    libtesseract-dev
    # video captions (profile "captions"): speech recognition
    libpocketsphinx-dev
    # mf-gateway: the HTTP server
    libmicrohttpd-dev
    # model lane: assimp (import, glTF export), meshoptimizer (LODs), EGL + GLES; the 3MF
    # package's embedded thumbnail through minizip (the zip reader assimp itself uses)
    libassimp-dev libmeshoptimizer-dev libegl-dev libgles-dev libminizip-dev
)

# To run and test: the unit tests' framework, the tools that make fixtures and check
# outputs, the data files the lanes read at run time, redis
TEST_PACKAGES=(
    clang-format
    libvips-tools
    # image tests: fixtures from the formats' own tools (HEIF transforms, EXIF thumbnails,
    # BMP/ICO/PSD, JPEG 2000, JPEG XL)
    libheif-examples libimage-exiftool-perl imagemagick libopenjp2-tools libjxl-tools
    # image faces: OpenCV's Haar/LBP face models
    opencv-data
    ffmpeg
    poppler-utils
    # doc lane tests: encrypted PDFs (qpdf --encrypt), Arabic and Hebrew set by pango-view
    qpdf pango1.0-tools
    tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd
    # video captions: the en-us speech model
    pocketsphinx-en-us
    redis-server redis-tools
    # mf-gateway's tests check /metrics with promtool (package prometheus), drive the status
    # page in headless chromium from node (DevTools pipe, no npm package) and talk HTTP with
    # curl
    prometheus chromium nodejs curl
    # tests and benchmarks: fixtures drawn with cairo need a font; pgrep, jq, python3, time
    fonts-dejavu-core fontconfig procps jq python3 time
    espeak-ng
    # network shares: t_dispatch_netshare mounts a FUSE folder (bindfs) written behind its
    # back; deploy tests: manifests parsed with python3-yaml, the .deb checked by lintian,
    # the many-hosts simulation's namespaces (iproute2) and host names (util-linux unshare)
    bindfs python3-yaml lintian iproute2 util-linux
    # model lane: Mesa's EGL (llvmpipe without a GPU); its tests make fixtures with
    # `assimp export` and check the GLB outputs with the Khronos glTF validator (npm package
    # gltf-validator, installed by the test into the build tree with npm: see below)
    libegl-mesa0 assimp-utils
    # deploy tests (t_deploy_container): the image built and run with podman (runc: crun
    # cannot set rlimits in some sandboxes), its Debian base made by mmdebstrap, compose
    # files run by podman-compose; pods' pause image from catatonit, networks with DNS
    # (CNI plugins + dnsname), rootless helpers
    podman runc mmdebstrap podman-compose catatonit containernetworking-plugins
    golang-github-containernetworking-plugin-dnsname uidmap slirp4netns fuse-overlayfs
)

PACKAGES=("${BUILD_PACKAGES[@]}")
case "${1:-}" in
--build) ;;
"")
    PACKAGES+=("${TEST_PACKAGES[@]}")
    # Debian's npm only where no npm is on PATH: a Node.js from NodeSource (package nodejs too)
    # ships its own npm and conflicts with Debian's
    command -v npm >/dev/null || PACKAGES+=(npm)
    ;;
*)
    echo "usage: install-deps.sh [--build]" >&2
    exit 2
    ;;
esac

missing=()
for pkg in "${PACKAGES[@]}"; do
    # "install ok installed" is the only state in which the package is usable
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: not root and no sudo" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
