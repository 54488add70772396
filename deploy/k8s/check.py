#!/usr/bin/env python3
"""Checks deploy/k8s/*.yaml without a cluster: every document parses, has a known
apiVersion/kind, and every field it uses is one this checker knows for that place (a
hand-written subset of the Kubernetes and KEDA schemas: the fields these manifests use,
with their types and the required ones), so a typo or a misplaced field fails. Then the
policy of deploy/k8s/README.md: every lane of common/include/mf/lanes.h has a Deployment,
a ScaledObject with a lagCount trigger (with activationLagCount) and a pendingEntriesCount
trigger, and a PodDisruptionBudget; grace periods cover the lane's timeout + 30 s; every pod
is non-root with a read-only root, no capabilities, seccomp RuntimeDefault and probes;
references (ConfigMap, Secret, PVC, scale targets, selectors) resolve.

KEDA redis-streams metadata names: https://keda.sh/docs/2.11/scalers/redis-streams/

usage: check.py [K8S_DIR [LANES_H]]; exit 0 when clean, 1 with one line per problem."""
import glob
import os
import re
import sys

import yaml

S, I, B = str, int, bool
ANY = object()  # a free-form map of strings (labels, data)


def opt(t):
    return ("opt", t)


def req(t):
    return ("req", t)


def lst(t):
    return ("list", t)


LABELS = {"*": S}
META = {"name": req(S), "namespace": opt(S), "labels": opt(LABELS), "annotations": opt(LABELS)}
SELECTOR = {"matchLabels": req(LABELS)}
QUANT = (S, I)
RESOURCES = {"requests": opt({"cpu": opt(QUANT), "memory": opt(QUANT), "storage": opt(QUANT)}),
             "limits": opt({"cpu": opt(QUANT), "memory": opt(QUANT)})}
EXEC = {"command": req(lst(S))}
PORTREF = (S, I)
PROBE = {"exec": opt(EXEC), "httpGet": opt({"path": req(S), "port": req(PORTREF)}),
         "tcpSocket": opt({"port": req(PORTREF)}), "periodSeconds": opt(I),
         "timeoutSeconds": opt(I), "failureThreshold": opt(I), "initialDelaySeconds": opt(I)}
CT_SEC = {"allowPrivilegeEscalation": opt(B), "readOnlyRootFilesystem": opt(B),
          "runAsNonRoot": opt(B), "capabilities": opt({"drop": opt(lst(S))})}
POD_SEC = {"runAsNonRoot": opt(B), "runAsUser": opt(I), "runAsGroup": opt(I), "fsGroup": opt(I),
           "seccompProfile": opt({"type": req(S)})}
CONTAINER = {
    "name": req(S), "image": req(S), "command": opt(lst(S)), "args": opt(lst(S)),
    "env": opt(lst({"name": req(S), "value": opt(S)})),
    "envFrom": opt(lst({"configMapRef": opt({"name": req(S)}),
                        "secretRef": opt({"name": req(S)})})),
    "ports": opt(lst({"name": opt(S), "containerPort": req(I)})),
    "livenessProbe": opt(PROBE), "readinessProbe": opt(PROBE), "resources": opt(RESOURCES),
    "securityContext": opt(CT_SEC),
    "volumeMounts": opt(lst({"name": req(S), "mountPath": req(S), "readOnly": opt(B)})),
}
VOLUME = {"name": req(S), "persistentVolumeClaim": opt({"claimName": req(S)}),
          "emptyDir": opt({"sizeLimit": opt(QUANT), "medium": opt(S)})}
POD_SPEC = {"automountServiceAccountToken": opt(B), "securityContext": opt(POD_SEC),
            "terminationGracePeriodSeconds": opt(I), "containers": req(lst(CONTAINER)),
            "volumes": opt(lst(VOLUME))}
TEMPLATE = {"metadata": req({"labels": req(LABELS)}), "spec": req(POD_SPEC)}
PVC_SPEC = {"accessModes": req(lst(S)), "resources": req(RESOURCES),
            "storageClassName": opt(S)}
TRIGGER_META = {k: opt(S) for k in (
    "address", "host", "port", "usernameFromEnv", "passwordFromEnv", "stream", "consumerGroup",
    "pendingEntriesCount", "streamLength", "lagCount", "activationLagCount", "enableTLS",
    "unsafeSsl", "databaseIndex", "addressFromEnv", "hostFromEnv", "portFromEnv")}
KINDS = {
    ("v1", "ConfigMap"): {"data": opt(LABELS)},
    ("v1", "Secret"): {"type": opt(S), "stringData": opt(LABELS), "data": opt(LABELS)},
    ("v1", "PersistentVolumeClaim"): {"spec": req(PVC_SPEC)},
    ("v1", "Service"): {"spec": req({"selector": req(LABELS), "ports": req(lst(
        {"name": opt(S), "port": req(I), "targetPort": opt(PORTREF)}))})},
    ("apps/v1", "Deployment"): {"spec": req({
        "replicas": opt(I), "strategy": opt({"type": req(S)}), "selector": req(SELECTOR),
        "template": req(TEMPLATE)})},
    ("apps/v1", "StatefulSet"): {"spec": req({
        "serviceName": req(S), "replicas": opt(I), "selector": req(SELECTOR),
        "template": req(TEMPLATE),
        "volumeClaimTemplates": opt(lst({"metadata": req(META), "spec": req(PVC_SPEC)}))})},
    ("policy/v1", "PodDisruptionBudget"): {"spec": req({
        "maxUnavailable": opt((I, S)), "minAvailable": opt((I, S)), "selector": req(SELECTOR)})},
    ("keda.sh/v1alpha1", "ScaledObject"): {"spec": req({
        "scaleTargetRef": req({"name": req(S), "kind": opt(S), "apiVersion": opt(S)}),
        "minReplicaCount": opt(I), "maxReplicaCount": opt(I), "pollingInterval": opt(I),
        "cooldownPeriod": opt(I),
        "triggers": req(lst({"type": req(S), "metadata": req(TRIGGER_META),
                             "authenticationRef": opt({"name": req(S)})}))})},
}

problems = []


def bad(where, msg):
    problems.append(f"{where}: {msg}")


def check(node, schema, where):
    """node against schema: a type (or tuple of types), a dict of fields, lst(...)."""
    if isinstance(schema, tuple) and schema and schema[0] == "list":
        if not isinstance(node, list):
            return bad(where, "expected a list")
        for i, item in enumerate(node):
            check(item, schema[1], f"{where}[{i}]")
        return None
    if isinstance(schema, dict):
        if not isinstance(node, dict):
            return bad(where, "expected a map")
        if "*" in schema:  # free-form map
            for k, v in node.items():
                check(v, schema["*"], f"{where}.{k}")
            return None
        for k, v in node.items():
            if k not in schema:
                bad(where, f"unknown field '{k}'")
            else:
                check(v, schema[k][1], f"{where}.{k}")
        for k, (need, _) in schema.items():
            if need == "req" and k not in node:
                bad(where, f"missing required field '{k}'")
        return None
    types = schema if isinstance(schema, tuple) else (schema,)
    if isinstance(node, bool) and B not in types:
        return bad(where, f"expected {'/'.join(t.__name__ for t in types)}, got a boolean")
    if not isinstance(node, types):
        bad(where, f"expected {'/'.join(t.__name__ for t in types)}, got {type(node).__name__}")
    return None


def lane_timeouts(lanes, config):
    """The job timeout of each lane: the ConfigMap's MF_TIMEOUT_<LANE>, else the registry's."""
    out = {}
    for lane, default in lanes.items():
        out[lane] = int(config.get(f"MF_TIMEOUT_{lane.upper()}", default))
    return out


def pod_policy(name, pod, where, claims=()):
    sec = pod.get("securityContext", {})
    if sec.get("runAsNonRoot") is not True or not sec.get("runAsUser"):
        bad(where, f"{name}: pod not runAsNonRoot with a non-zero runAsUser")
    if sec.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        bad(where, f"{name}: seccompProfile is not RuntimeDefault")
    for c in pod.get("containers", []):
        cs = c.get("securityContext", {})
        if cs.get("readOnlyRootFilesystem") is not True:
            bad(where, f"{name}/{c.get('name')}: root file system not read-only")
        if cs.get("allowPrivilegeEscalation") is not False:
            bad(where, f"{name}/{c.get('name')}: privilege escalation allowed")
        if cs.get("capabilities", {}).get("drop") != ["ALL"]:
            bad(where, f"{name}/{c.get('name')}: capabilities not dropped (drop: [ALL])")
        for p in ("livenessProbe", "readinessProbe"):
            if p not in c:
                bad(where, f"{name}/{c.get('name')}: no {p}")
        vols = {v["name"] for v in pod.get("volumes", [])} | set(claims)
        for m in c.get("volumeMounts", []):
            if m["name"] not in vols:
                bad(where, f"{name}/{c.get('name')}: mounts undefined volume {m['name']}")


def main():
    k8s = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "deploy/k8s")
    lanes_h = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "common/include/mf/lanes.h")
    # X(name, auto_per_cpus, timeout_s, mime_globs, noun, job_ms)
    lanes = dict(re.findall(r"X\(([a-z][a-z0-9_]*), *[0-9]+, *([0-9]+),", open(lanes_h).read()))
    if not lanes:
        bad(lanes_h, "no lanes found")
    objs = {}
    files = sorted(glob.glob(os.path.join(k8s, "*.yaml")))
    if not files:
        bad(k8s, "no manifests")
    for f in files:
        try:
            docs = [d for d in yaml.safe_load_all(open(f)) if d is not None]
        except yaml.YAMLError as e:
            bad(f, f"does not parse: {e}")
            continue
        for i, d in enumerate(docs):
            where = f"{os.path.basename(f)}#{i}"
            if not isinstance(d, dict):
                bad(where, "not a map")
                continue
            key = (d.get("apiVersion"), d.get("kind"))
            if key not in KINDS:
                bad(where, f"unknown apiVersion/kind {key}")
                continue
            schema = dict(KINDS[key], apiVersion=req(S), kind=req(S), metadata=req(META))
            check(d, schema, where)
            name = d.get("metadata", {}).get("name")
            if (key[1], name) in objs:
                bad(where, f"{key[1]} {name} defined twice")
            objs[(key[1], name)] = (d, where)
    config = next((d.get("data", {}) for (k, _), (d, _) in objs.items() if k == "ConfigMap"), {})
    timeouts = lane_timeouts(lanes, config)
    grace = 30
    for (kind, name), (d, where) in objs.items():
        if kind in ("Deployment", "StatefulSet"):
            spec = d.get("spec", {})
            tmpl = spec.get("template", {})
            labels = tmpl.get("metadata", {}).get("labels", {})
            for k, v in spec.get("selector", {}).get("matchLabels", {}).items():
                if labels.get(k) != v:
                    bad(where, f"{name}: selector {k}={v} does not match the pod labels")
            pod = tmpl.get("spec", {})
            claims = [t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])]
            pod_policy(name, pod, where, claims)
            for c in pod.get("containers", []):
                for ef in c.get("envFrom", []):
                    for rk, kk in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                        if rk in ef and (kk, ef[rk]["name"]) not in objs:
                            bad(where, f"{name}: {kk} {ef[rk]['name']} not defined")
            for v in pod.get("volumes", []):
                claim = v.get("persistentVolumeClaim", {}).get("claimName")
                if claim is None:
                    continue
                pvc = objs.get(("PersistentVolumeClaim", claim))
                if pvc is None:
                    bad(where, f"{name}: PVC {claim} not defined")
                elif "ReadWriteMany" not in pvc[0]["spec"]["accessModes"]:
                    bad(where, f"{name}: PVC {claim} is not ReadWriteMany")
        if kind == "ScaledObject":
            target = d["spec"]["scaleTargetRef"]["name"]
            if ("Deployment", target) not in objs:
                bad(where, f"{name}: scale target {target} is not a Deployment here")
        if kind in ("PodDisruptionBudget", "Service"):
            sel = (d["spec"]["selector"]["matchLabels"] if kind == "PodDisruptionBudget"
                   else d["spec"]["selector"])
            if not any(k2 in ("Deployment", "StatefulSet") and all(
                    o["spec"]["template"]["metadata"]["labels"].get(k) == v
                    for k, v in sel.items()) for (k2, _), (o, _) in objs.items()):
                bad(where, f"{kind} {name}: selector matches no workload")
    for lane in lanes:
        dep = objs.get(("Deployment", f"mf-worker-{lane}"))
        so = objs.get(("ScaledObject", f"mf-worker-{lane}"))
        if dep is None:
            bad("lanes", f"lane {lane}: no Deployment mf-worker-{lane}")
        if so is None:
            bad("lanes", f"lane {lane}: no ScaledObject mf-worker-{lane}")
        if not any(k == "PodDisruptionBudget" and o["spec"]["selector"]["matchLabels"].get("app")
                   == f"mf-worker-{lane}" for (k, _), (o, _) in objs.items()):
            bad("lanes", f"lane {lane}: no PodDisruptionBudget")
        if dep is not None:
            pod = dep[0]["spec"]["template"]["spec"]
            tgp = pod.get("terminationGracePeriodSeconds", 30)
            if tgp < timeouts[lane] + grace:
                bad(dep[1], f"lane {lane}: terminationGracePeriodSeconds {tgp} < timeout "
                            f"{timeouts[lane]} + grace {grace}")
            cmd = pod["containers"][0].get("command", [])
            if cmd[:1] != [f"mf-worker-{lane}"]:
                bad(dep[1], f"lane {lane}: command is {cmd}, not mf-worker-{lane}")
        if so is not None:
            trig = [t for t in so[0]["spec"]["triggers"] if t["type"] == "redis-streams"]
            for t in trig:
                m = t["metadata"]
                if m.get("stream") != f"mf:q:{lane}" or m.get("consumerGroup") != "workers":
                    bad(so[1], f"lane {lane}: a trigger not on mf:q:{lane} group workers")
            lag = [t for t in trig if "lagCount" in t["metadata"]]
            pend = [t for t in trig if "pendingEntriesCount" in t["metadata"]
                    and "lagCount" not in t["metadata"]]
            if not lag or "activationLagCount" not in lag[0]["metadata"]:
                bad(so[1], f"lane {lane}: no lagCount trigger with activationLagCount")
            if not pend:
                bad(so[1], f"lane {lane}: no pendingEntriesCount trigger (jobs in flight)")
    for p in problems:
        print(p)
    if not problems:
        print(f"ok: {len(objs)} objects in {len(files)} files, lanes {' '.join(lanes)}")
    return 1 if problems else 0


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if __name__ == "__main__":
    sys.exit(main())
