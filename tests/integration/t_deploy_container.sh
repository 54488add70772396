#!/usr/bin/env bash
# The container image, compose and `podman kube play`, with real podman (runc), on images
# built here without a registry by deploy/container/build.sh (mmdebstrap base, multi-stage
# deploy/container/Containerfile installing the .deb that `cpack -G DEB` made in its build
# stage; Redis from Debian's redis-server). The image is keyed by the git tree hash of the
# sources: the second run of this test in CI (the ASan build) reuses it.
#   1. the image: runs as uid 10001, has a HEALTHCHECK, holds no compiler or -dev package;
#      `mfctl check-config` and every role's --check-config pass in it;
#   2. one container running `mfctl up` with a worker per lane: a photo dropped in its inbox
#      ends `done` with its outputs (read with redis-cli), and so does a file of every other
#      lane (clip, PDF, 3D box: the runtime libraries, Mesa's EGL included, are there);
#      every process of it is non-root, its healthcheck passes, SIGTERM stops it with 0;
#   3. deploy/compose.yaml under podman-compose: Redis, the dispatcher, every lane's workers
#      with their replicas, gateway and notifier; a dropped photo ends `done`;
#   4. deploy/k8s's workload manifests (deploy/k8s/podman-play.py: without the KEDA objects)
#      under `podman kube play`: a pod per lane, a dropped photo ends `done`; the manifests'
#      exec and httpGet probes pass in the running pods.
# Skips (77) only when podman cannot run containers here. Labels: deploy (tests/CMakeLists.txt).
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$MF_BIN_DIR/.." && pwd)
command -v podman >/dev/null || {
    echo "SKIP: podman not installed (deploy/install-deps.sh installs it)"
    exit 77
}
for tool in mmdebstrap podman-compose python3; do
    command -v "$tool" >/dev/null || mf_fail "$tool not installed (deploy/install-deps.sh)"
done
mkdir -p "$T/logs"
RID=mft$$
CTRS=() PROJECT="" KUBE="" NET=""
cleanup() {
    set +e
    [ ${#CTRS[@]} -eq 0 ] || podman rm -f -t 5 "${CTRS[@]}" >/dev/null 2>&1
    if [ -n "$PROJECT" ]; then
        podman-compose -p "$PROJECT" -f "$ROOT/deploy/compose.yaml" down -v >/dev/null 2>&1
        podman network rm -f "${PROJECT}_default" >/dev/null 2>&1
    fi
    if [ -n "$KUBE" ]; then
        podman kube down "$KUBE" >/dev/null 2>&1
        podman volume rm -f mediafleet-data redis-data >/dev/null 2>&1
    fi
    [ -z "$NET" ] || podman network rm -f "$NET" >/dev/null 2>&1
    [ -n "${MF_KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
timed() { # NAME CMD...: runs CMD, logs how long it took
    local name=$1 t0=$SECONDS rc=0
    shift
    "$@" || rc=$?
    mf_log "$name: $((SECONDS - t0)) s"
    return $rc
}

# shellcheck disable=SC1091 # checked with build.sh
source "$ROOT/deploy/container/podman-env.sh"
mf_podman_storage || {
    echo "SKIP: podman does not work here: $(podman info 2>&1 | tail -1)"
    exit 77
}

# 1. the images
export MF_CONTAINER_CACHE=$BUILD/container
rc=0
t0=$SECONDS
bash "$ROOT/deploy/container/build.sh" >"$T/tag" 2>"$T/logs/build.log" || rc=$?
mf_log "build: $((SECONDS - t0)) s ($(grep -m1 -E 'not rebuilt|building ' "$T/logs/build.log" || true))"
if [ $rc -eq 77 ]; then
    echo "SKIP: podman cannot run containers here: $(tail -3 "$T/logs/build.log")"
    exit 77
fi
[ $rc -eq 0 ] || mf_fail "deploy/container/build.sh failed ($rc)"
IMG=$(tail -1 "$T/tag")
mf_podman_env "$IMG" "$MF_CONTAINER_CACHE" || mf_fail "podman ran the build but runs no container of $IMG"
podman image inspect "$IMG" >"$T/inspect.json"
read -r user size hc < <(python3 - "$T/inspect.json" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))[0]
hc = i.get("Healthcheck") or (i.get("Config") or {}).get("Healthcheck") or {}
print(i["Config"].get("User", ""), i["Size"], "yes" if hc.get("Test") else "no")
PY
)
mf_log "image $IMG: $((size / 1000000)) MB, user $user, healthcheck $hc"
mf_assert_eq "$user" "10001:10001" "the image's user"
mf_assert_eq "$hc" yes "a HEALTHCHECK in the image"
podman run --rm "$IMG" sh -c '! command -v cc && ! command -v cmake && ! dpkg-query -W -f "\${Package} \${Status}\n" "*-dev" 2>/dev/null | grep " installed$"' \
    >"$T/logs/runtime.log" 2>&1 || mf_fail "the runtime stage holds build tools: $(cat "$T/logs/runtime.log")"
podman run --rm "$IMG" mfctl check-config >"$T/logs/check.log" 2>&1 ||
    mf_fail "mfctl check-config in the image failed"
roles=(mf-dispatcher mf-gateway mf-notifier)
for lane in $MF_LANES; do roles+=("mf-worker-$lane"); done
# shellcheck disable=SC2016 # expanded in the container
podman run --rm -e MF_HTTP_TOKEN=t -e MF_REDIS_URL=redis://redis:6379 "$IMG" sh -c 'for b in "$@"; do
    "$b" --check-config >/dev/null || { echo "$b --check-config failed"; exit 1; }
done' sh "${roles[@]}" >"$T/logs/roles.log" 2>&1 || mf_fail "a role does not start in the image"

# drop CONTAINER NAME FILE: uploads FILE into the inbox as NAME.part, renamed when complete
drop() {
    # shellcheck disable=SC2016 # expanded in the container
    podman exec -i "$1" sh -c 'cat >"/data/inbox/$1.part" && mv "/data/inbox/$1.part" "/data/inbox/$1"' sh "$2" <"$3"
}
# done_in CONTAINER NAME [REDIS-CLI ARGS...]: NAME's record is done (redis-cli in CONTAINER)
done_in() {
    local c=$1 name=$2 id
    shift 2
    id=$(podman exec "$c" redis-cli "$@" --raw HGET mf:paths "$name") && [ -n "$id" ] &&
        [ "$(podman exec "$c" redis-cli "$@" --raw HGET "mf:file:$id" status)" = "done" ]
}
mk_jpeg "$T/photo.jpg"
# one file for each of the other lanes (the mfctl up container runs them all): a 3D box
# (OBJ), a 2 s clip (ffmpeg's test pattern), a one-page PDF with text
python3 - "$T/box.obj" <<'PY'
import sys
v = [(x, y, 3 * z) for x in (0, 1) for y in (0, 1) for z in (0, 1)]
with open(sys.argv[1], "w") as f:
    f.write("o box\n" + "".join("v %g %g %g\n" % p for p in v))
    for a, b, c, d in [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]:
        f.write("f %d %d %d\nf %d %d %d\n" % (a + 1, b + 1, c + 1, a + 1, c + 1, d + 1))
PY
ffmpeg -loglevel error -y -f lavfi -i testsrc=duration=2:size=320x240:rate=10 -pix_fmt yuv420p "$T/clip.mp4" ||
    mf_fail "ffmpeg made no clip"
"$MF_BIN_DIR/mf-doc-mkfixture" text "$T/doc.pdf" 1 || mf_fail "mf-doc-mkfixture made no PDF"
declare -A LANE_FILE=([image]=photo.jpg [video]=clip.mp4 [doc]=doc.pdf [model]=box.obj)

# 2. mfctl up in one container
one_file() {
    local c=$RID-up workers="" lane id f
    for lane in $MF_LANES; do workers="$workers,$lane=1"; done
    CTRS+=("$c")
    podman run -d --name "$c" "$IMG" mfctl up --workers "${workers#,}" >/dev/null
    mf_wait 60 "mfctl up's redis in the container" podman exec "$c" test -S /data/state/redis.sock
    for lane in $MF_LANES; do
        f=${LANE_FILE[$lane]:-}
        [ -n "$f" ] || mf_fail "no file for lane $lane in this test"
        drop "$c" "$f" "$T/$f"
    done
    for lane in $MF_LANES; do
        f=${LANE_FILE[$lane]}
        mf_wait 180 "$f ($lane) done in the mfctl up container" done_in "$c" "$f" -s /data/state/redis.sock
        id=$(podman exec "$c" redis-cli -s /data/state/redis.sock --raw HGET mf:paths "$f")
        mf_assert_eq "$(podman exec "$c" redis-cli -s /data/state/redis.sock --raw HGET "mf:file:$id" type)" "$lane" "type of $f"
    done
    id=$(podman exec "$c" redis-cli -s /data/state/redis.sock --raw HGET mf:paths photo.jpg)
    podman exec "$c" test -s "/data/outbox/$id/thumb-256.webp" || mf_fail "no thumbnail in the container's outbox"
    podman exec "$c" test -s "/data/outbox/$id/meta.json" || mf_fail "no meta.json in the container's outbox"
    mf_assert_eq "$(podman exec "$c" id -u)" 10001 "uid in the container"
    podman top "$c" huser args >"$T/top.out"
    mf_log "processes: $(tail -n +2 "$T/top.out" | awk '{print $1, $2}' | sort | uniq -c | tr -s ' \n' ' ')"
    if tail -n +2 "$T/top.out" | awk '$1 == "root" || $1 == "0"' | grep -q .; then
        mf_fail "a process of the container runs as root: $(cat "$T/top.out")"
    fi
    grep -q mf-worker-image "$T/top.out" || mf_fail "no image worker in the container: $(cat "$T/top.out")"
    podman healthcheck run "$c" >"$T/logs/health.log" 2>&1 || mf_fail "the container's healthcheck fails"
    podman stop -t 60 "$c" >/dev/null
    mf_assert_eq "$(podman inspect "$c" --format '{{.State.ExitCode}}')" 0 "exit status of mfctl up on SIGTERM"
}
timed one-file-run one_file

# 3. compose
compose() {
    local dc redis n lane want t0=$SECONDS
    PROJECT=${RID}c
    export MF_IMAGE=$IMG MF_REDIS_IMAGE=localhost/mediafleet-redis:7 MF_HTTP_TOKEN=token-$RID
    MF_HTTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    export MF_HTTP_PORT
    podman-compose -p "$PROJECT" -f "$ROOT/deploy/compose.yaml" up -d >"$T/logs/compose.log" 2>&1 ||
        mf_fail "podman-compose up failed"
    mf_log "compose: up in $((SECONDS - t0)) s"
    dc=${PROJECT}_dispatcher_1 redis=${PROJECT}_redis_1
    for lane in $MF_LANES; do
        want=$(python3 - "$ROOT/deploy/compose.yaml" "$lane" <<'PY'
import re, sys, yaml
r = str(yaml.safe_load(open(sys.argv[1]))["services"]["worker-" + sys.argv[2]]["deploy"]["replicas"])
m = re.fullmatch(r"\$\{\w+:-(\d+)\}", r)
print(m.group(1) if m else r)
PY
        )
        n=$(podman ps --filter "label=io.podman.compose.project=$PROJECT" \
            --filter "label=com.docker.compose.service=worker-$lane" --format '{{.Names}}' | wc -l)
        mf_assert_eq "$n" "$want" "running worker-$lane replicas"
    done
    mf_wait 60 "compose's redis answers" podman exec "$redis" redis-cli ping
    drop "$dc" photo.jpg "$T/photo.jpg"
    mf_wait 120 "photo.jpg done under compose" done_in "$redis" photo.jpg
    id=$(podman exec "$redis" redis-cli --raw HGET mf:paths photo.jpg)
    podman exec "$dc" test -s "/data/outbox/$id/thumb-256.webp" || mf_fail "no thumbnail in compose's outbox volume"
    curl -fsS "http://127.0.0.1:$MF_HTTP_PORT/healthz" >/dev/null || mf_fail "compose's gateway does not answer /healthz"
    podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}} {{.Status}}' >"$T/compose-ps.out"
    if grep -v ' Up ' "$T/compose-ps.out"; then
        mf_fail "a compose container is not up: $(cat "$T/compose-ps.out")"
    fi
    mf_log "compose: $(wc -l <"$T/compose-ps.out") containers up, photo.jpg done at $((SECONDS - t0)) s"
    podman-compose -p "$PROJECT" -f "$ROOT/deploy/compose.yaml" down -v >>"$T/logs/compose.log" 2>&1
    # podman-compose 1.0.3 leaves its network behind
    podman network rm -f "${PROJECT}_default" >/dev/null 2>&1 || true
    PROJECT=""
}
timed compose compose

# 4. podman kube play of deploy/k8s
kube() {
    local dc id c pod lane ctrs how a b argv infra ip
    NET=${RID}k
    KUBE=$T/play.yaml
    python3 "$ROOT/deploy/k8s/podman-play.py" >"$KUBE"
    podman kube down "$KUBE" >/dev/null 2>&1 || true
    podman volume rm -f mediafleet-data redis-data >/dev/null 2>&1 || true
    podman network create "$NET" >/dev/null
    podman kube play --network "$NET" "$KUBE" >"$T/logs/kube.log" 2>&1 || mf_fail "podman kube play failed"
    # the pods on the network, and their containers (not the infra ones)
    podman pod ps --filter "network=$NET" --format '{{.Name}}' | sort >"$T/kube-pods.out"
    while read -r pod; do
        podman ps -a --filter "pod=$pod" --format '{{.Names}}' | grep -v -- '-infra$'
    done <"$T/kube-pods.out" >"$T/kube-ctrs.out"
    mapfile -t ctrs <"$T/kube-ctrs.out"
    mf_log "kube play: pods $(tr '\n' ' ' <"$T/kube-pods.out")"
    for lane in $MF_LANES; do
        grep -qx "mf-worker-$lane-pod-0" "$T/kube-pods.out" || mf_fail "no pod for lane $lane"
    done
    dc=mf-dispatcher-pod-0-dispatcher
    mf_wait 60 "the redis pod answers" podman exec redis-redis redis-cli ping
    drop "$dc" photo.jpg "$T/photo.jpg"
    mf_wait 120 "photo.jpg done under kube play" done_in redis-redis photo.jpg
    id=$(podman exec redis-redis redis-cli --raw HGET mf:paths photo.jpg)
    podman exec "$dc" test -s "/data/outbox/$id/thumb-256.webp" || mf_fail "no thumbnail on the shared volume"
    # every container still runs (none exited or restarts)
    for c in "${ctrs[@]}"; do
        mf_assert_eq "$(podman inspect "$c" --format '{{.State.Status}}')" running "state of $c"
    done
    # the manifests' probes, in the running pods: podman 4.3's own translation of them into
    # healthchecks is not faithful (an exec probe's argv joined into one shell line, a named
    # httpGet port read as 0, tcpSocket without a host), so exec probes run with podman exec
    # and httpGet probes as HTTP requests to the pod's address from here
    python3 - "$ROOT/deploy/k8s" "$T/kube-ctrs.out" >"$T/probes.out" <<'PY'
import glob, json, os, re, sys, yaml
ctrs = open(sys.argv[2]).read().split()
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))):
    for d in yaml.safe_load_all(open(path)):
        if not d or d["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for c in d["spec"]["template"]["spec"]["containers"]:
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            rx = re.compile(re.escape(d["metadata"]["name"]) + r"(-pod-\d+)?-" + re.escape(c["name"]) + "$")
            for name in (n for n in ctrs if rx.match(n)):
                for kind in ("livenessProbe", "readinessProbe"):
                    pr = c.get(kind, {})
                    if "exec" in pr:
                        print(name, "exec", json.dumps(pr["exec"]["command"]), sep="\t")
                    elif "httpGet" in pr:
                        port = pr["httpGet"]["port"]
                        print(name, "http", ports.get(port, port), pr["httpGet"]["path"], sep="\t")
PY
    grep -q . "$T/probes.out" || mf_fail "no probe found for the pods"
    while IFS=$'\t' read -r c how a b; do
        if [ "$how" = exec ]; then
            mapfile -t argv < <(python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])))' "$a")
            podman exec "$c" "${argv[@]}" >"$T/logs/probe.log" 2>&1 ||
                mf_fail "probe of $c fails: ${argv[*]}: $(cat "$T/logs/probe.log")"
        else
            infra=$(podman inspect "$c" --format '{{.Pod}}' | xargs podman pod inspect --format '{{.InfraContainerID}}')
            ip=$(podman inspect "$infra" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
            mf_wait 30 "$c answers GET $b" curl -fsS -m 5 "http://$ip:$a$b"
        fi
    done <"$T/probes.out"
    mf_log "kube play: $(wc -l <"$T/probes.out") probes of $(cut -f1 "$T/probes.out" | sort -u | wc -l) containers pass"
    podman kube down "$KUBE" >>"$T/logs/kube.log" 2>&1
    podman volume rm -f mediafleet-data redis-data >/dev/null 2>&1
    KUBE=""
}
timed kube-play kube
mf_pass
