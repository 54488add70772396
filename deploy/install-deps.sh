#!/usr/bin/env bash
# Installs what mediafleet needs to build, test and run on Debian 12 (bookworm).
# Idempotent: asks dpkg first and only runs apt-get when something is missing.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config clang-format
    libuv1-dev libhiredis-dev libjansson-dev libinih-dev libssl-dev libmagic-dev file
    libcurl4-openssl-dev libcmocka-dev
    libvips-dev libvips-tools liblcms2-dev
    # image lane: HEIF/AVIF through libheif itself (transforms), WebP chunks stripped with
    # libwebpmux (both also pulled in by libvips-dev)
    libheif-dev libwebp-dev
    # image tests: fixtures from the formats' own tools (HEIF transforms, EXIF thumbnails,
    # BMP/ICO/PSD, JPEG 2000, JPEG XL)
    libheif-examples libimage-exiftool-perl imagemagick libopenjp2-tools libjxl-tools
    # image faces (meta.faces): OpenCV's cascade classifier and its Haar/LBP face models
    libopencv-objdetect-dev opencv-data
    libavformat-dev libavcodec-dev libswscale-dev libswresample-dev libavutil-dev ffmpeg
    libpoppler-glib-dev libcairo2-dev libpng-dev poppler-utils
    # doc lane text: pdftotext's text dump through poppler-cpp (workers/doc/textdump.cpp)
    libpoppler-cpp-dev
    # doc lane tests: encrypted PDFs (qpdf --encrypt), Arabic and Hebrew set by pango-view
    qpdf pango1.0-tools
    libtesseract-dev tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd
    # video captions (profile "captions"): speech recognition and its en-us model
    libpocketsphinx-dev pocketsphinx-en-us
    redis-server redis-tools
    # mf-gateway: the HTTP server; its tests check /metrics with promtool (package
    # prometheus), drive the status page in headless chromium from node (DevTools pipe, no
    # npm package) and talk HTTP with curl
    libmicrohttpd-dev prometheus chromium nodejs curl
    # tests and benchmarks: fixtures drawn with cairo need a font; pgrep, jq, python3, time
    fonts-dejavu-core fontconfig procps jq python3 time
    espeak-ng
    # network shares: t_dispatch_netshare mounts a FUSE folder (bindfs) written behind its
    # back; deploy tests: manifests parsed with python3-yaml, the .deb checked by lintian,
    # the many-hosts simulation's namespaces (iproute2) and host names (util-linux unshare)
    bindfs python3-yaml lintian iproute2 util-linux
    # model lane: assimp (import, glTF export), meshoptimizer (LODs), EGL + GLES from Mesa
    # (thumbnails, llvmpipe without a GPU); its tests make fixtures with `assimp export`
    # and check the GLB outputs with the Khronos glTF validator (npm package gltf-validator,
    # installed by the test into the build tree with Debian's npm)
    libassimp-dev libmeshoptimizer-dev libegl-dev libgles-dev libegl-mesa0 assimp-utils npm
    # the 3MF package's embedded thumbnail (the zip reader assimp itself uses)
    libminizip-dev
)

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
