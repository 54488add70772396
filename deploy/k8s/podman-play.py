#!/usr/bin/env python3
"""Prints the workload manifests of deploy/k8s/*.yaml in the form `podman kube play` takes,
to run the fleet on one machine without a cluster:

    python3 deploy/k8s/podman-play.py | podman kube play --network NET -

(NET: a podman network with DNS, `podman network create NET`, so pods find Redis by its
name; the images mediafleet:latest and redis:7 built by deploy/container/build.sh).
What podman 4.3 cannot take is translated or left out, nothing else is changed:
  - KEDA ScaledObjects, PodDisruptionBudgets and Services are left out (kube play knows Pod,
    Deployment, PersistentVolumeClaim and ConfigMap);
  - the StatefulSet (Redis) becomes a Pod of the same name, so its name resolves as the
    Service's would, and its volumeClaimTemplates become PersistentVolumeClaims;
  - containers' ports are left out: kube play would publish each on the same port of the
    host (two gateway replicas collide); pods reach each other on the network;
  - a Secret becomes a ConfigMap named <name>-secret (and secretRef a configMapRef to it);
  - a PersistentVolumeClaim gets podman's volume.podman.io/uid and gid annotations from the
    fsGroup of the pods that mount it (kube play has no fsGroup), so non-root pods can write.

usage: podman-play.py [K8S_DIR]"""
import glob
import os
import sys

import yaml


def main():
    k8s = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    docs = []
    for path in sorted(glob.glob(os.path.join(k8s, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            docs += [d for d in yaml.safe_load_all(f) if d]
    out, claims, owner = [], [], {}
    for d in docs:
        kind = d["kind"]
        if kind in ("ConfigMap", "PersistentVolumeClaim", "Deployment"):
            out.append(d)
        elif kind == "Secret":
            meta = dict(d["metadata"], name=d["metadata"]["name"] + "-secret")
            out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                        "data": dict(d.get("stringData", {}))})
        elif kind == "StatefulSet":
            spec = d["spec"]
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": d["metadata"]["name"],
                                "labels": spec["template"]["metadata"].get("labels", {})},
                   "spec": dict(spec["template"]["spec"])}
            vols = list(pod["spec"].get("volumes", []))
            for t in spec.get("volumeClaimTemplates", []):
                name = t["metadata"]["name"]
                out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                            "metadata": {"name": name}, "spec": t["spec"]})
                vols.append({"name": name, "persistentVolumeClaim": {"claimName": name}})
            pod["spec"]["volumes"] = vols
            out.append(pod)
    for d in out:
        spec = d.get("spec", {})
        pod = spec.get("template", {}).get("spec") if d["kind"] == "Deployment" else spec
        if not pod or d["kind"] == "PersistentVolumeClaim":
            continue
        for c in pod.get("containers", []):
            c.pop("ports", None)
            for e in c.get("envFrom", []):
                if "secretRef" in e:
                    e["configMapRef"] = {"name": e.pop("secretRef")["name"] + "-secret"}
        sec = pod.get("securityContext", {})
        for v in pod.get("volumes", []):
            if "persistentVolumeClaim" in v and "fsGroup" in sec:
                owner[v["persistentVolumeClaim"]["claimName"]] = (sec.get("runAsUser", 0),
                                                                 sec["fsGroup"])
    for d in out:
        if d["kind"] == "PersistentVolumeClaim" and d["metadata"]["name"] in owner:
            uid, gid = owner[d["metadata"]["name"]]
            ann = d["metadata"].setdefault("annotations", {})
            ann["volume.podman.io/uid"] = str(uid)
            ann["volume.podman.io/gid"] = str(gid)
            claims.append(d["metadata"]["name"])
    # volumes first, then ConfigMaps, then the workloads (Redis first)
    order = {"PersistentVolumeClaim": 0, "ConfigMap": 1, "Pod": 2, "Deployment": 3}
    out.sort(key=lambda d: order[d["kind"]])
    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
