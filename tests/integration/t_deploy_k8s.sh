#!/usr/bin/env bash
# deploy/k8s: every manifest parses and passes deploy/k8s/check.py (a schema check of the
# fields used, KEDA redis-streams trigger names, every lane of common/include/mf/lanes.h with
# its Deployment + ScaledObject (lagCount + activationLagCount, pendingEntriesCount) + PDB,
# grace periods >= timeout + 30 s, hardened pods, references that resolve); then the checker
# is shown to catch what it claims to, on broken copies. Each probe binary the manifests name
# exists and its --check-config passes with the ConfigMap's settings. Skips (77) without
# python3-yaml.
source "$(dirname "$0")/lib.sh"
python3 -c 'import yaml' 2>/dev/null || {
    echo "SKIP: python3-yaml not installed"
    exit 77
}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECK=$ROOT/deploy/k8s/check.py
mkdir -p "$T/logs"
python3 "$CHECK" >"$T/check.out" 2>&1 || { cat "$T/check.out"; mf_fail "deploy/k8s does not pass check.py"; }
grep -q "^ok: .* lanes $MF_LANES$" "$T/check.out" || mf_fail "unexpected: $(cat "$T/check.out")"

# broken copies: each must fail with its own message
broken() { # NAME FILE SED-EXPRESSION EXPECTED-TEXT
    rm -rf "$T/k8s" && cp -r "$ROOT/deploy/k8s" "$T/k8s"
    sed -i "$3" "$T/k8s/$2"
    if python3 "$CHECK" "$T/k8s" >"$T/broken.out" 2>&1; then
        mf_fail "$1: check.py accepted it"
    fi
    grep -qF "$4" "$T/broken.out" || mf_fail "$1: expected '$4', got: $(cat "$T/broken.out")"
}
broken "misspelt KEDA field" 50-worker-video.yaml 's/pendingEntriesCount: "1"/pendingEntryCount: "1"/' "unknown field 'pendingEntryCount'"
broken "short grace" 50-worker-video.yaml 's/terminationGracePeriodSeconds: 3630/terminationGracePeriodSeconds: 600/' "terminationGracePeriodSeconds 600 < timeout 3600 + grace 30"
broken "no lag activation" 50-worker-doc.yaml '/activationLagCount/d' "lane doc: no lagCount trigger with activationLagCount"
broken "writable root" 30-gateway.yaml 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "mf-gateway/gateway: root file system not read-only"
broken "capabilities kept" 20-dispatcher.yaml 's/drop: \[ALL\]/drop: [NET_RAW]/' "capabilities not dropped"
broken "no seccomp" 40-notifier.yaml 's/type: RuntimeDefault/type: Unconfined/' "seccompProfile is not RuntimeDefault"
broken "RWO volume" 00-config.yaml 's/accessModes: \[ReadWriteMany\]/accessModes: [ReadWriteOnce]/' "is not ReadWriteMany"
broken "missing lane" 50-worker-image.yaml 's/kind: ScaledObject/kind: ScaledJob/' "unknown apiVersion/kind"
rm -rf "$T/k8s" && cp -r "$ROOT/deploy/k8s" "$T/k8s" && rm "$T/k8s/50-worker-image.yaml"
python3 "$CHECK" "$T/k8s" >"$T/broken.out" 2>&1 && mf_fail "a lane without manifests accepted"
grep -q "lane image: no ScaledObject mf-worker-image" "$T/broken.out" || mf_fail "missing lane not named: $(cat "$T/broken.out")"
printf '  asdf: [\n' >"$T/k8s/99-bad.yaml"
python3 "$CHECK" "$T/k8s" >"$T/broken.out" 2>&1 && mf_fail "YAML that does not parse accepted"
grep -q "99-bad.yaml: does not parse" "$T/broken.out" || mf_fail "parse error not named"

# the probes' commands: every binary a container runs exists, and --check-config passes
# with the ConfigMap's settings (inbox/outbox made here)
mkdir -p "$T/data/inbox" "$T/data/outbox"
env_args=$(python3 - "$ROOT/deploy/k8s/00-config.yaml" "$T/data" <<'PY'
import shlex, sys, yaml
cm = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ConfigMap")
out = []
for k, v in cm["data"].items():
    v = str(v).replace("/data", sys.argv[2])
    out.append(shlex.quote(f"{k}={v}"))
print(" ".join(out))
PY
)
for bin in $(grep -ho 'command: \[mf-[a-z-]*' "$ROOT"/deploy/k8s/*.yaml | sed 's/.*\[//' | sort -u); do
    [ -x "$MF_BIN_DIR/$bin" ] || mf_fail "$bin (named by a manifest) is not built"
    eval "env $env_args MF_HTTP_TOKEN=t \"$MF_BIN_DIR/$bin\" --check-config" >"$T/$bin.cfg" 2>&1 ||
        mf_fail "$bin --check-config with the ConfigMap's settings: $(tail -3 "$T/$bin.cfg")"
done
mf_pass
