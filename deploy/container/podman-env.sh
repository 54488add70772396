# shellcheck shell=bash
# Sourced by deploy/container/build.sh and the container tests: makes podman run containers
# on this machine. Some sandboxes let no process raise a resource limit (no CAP_SYS_RESOURCE)
# while podman asks the runtime for nofile=1048576 (crun fails on setrlimit, runc too unless
# the limits asked are the ones the runtime already has). When a plain `podman run` fails,
# this finds limits and a runtime that work and writes them to a containers.conf that
# CONTAINERS_CONF points at, so podman build, podman-compose and podman kube play use them too.

# mf_podman_storage: podman's storage works (overlay, its default as root; else vfs, slower but
# working anywhere: exported as STORAGE_DRIVER); false when neither does.
mf_podman_storage() {
    podman info >/dev/null 2>&1 && return 0
    STORAGE_DRIVER=vfs podman info >/dev/null 2>&1 || return 1
    export STORAGE_DRIVER=vfs
    printf 'container: podman storage overlay fails here; using vfs\n' >&2
}

# mf_podman_probe IMAGE: true when podman runs a container of IMAGE here.
mf_podman_probe() {
    podman run --rm --network none "$1" true >/dev/null 2>&1
}

# mf_podman_env IMAGE DIR: exports CONTAINERS_CONF (a file it writes in DIR) when podman needs
# it; false when podman cannot run containers here at all.
mf_podman_env() {
    local image=$1 conf=$2/containers.conf runtime nproc hn
    unset CONTAINERS_CONF
    mf_podman_probe "$image" && return 0
    hn=$(ulimit -Hn)
    # the runtime may hold a lower process limit than this shell (seen: 32768 under 96367)
    for runtime in "" runc; do
        [ -z "$runtime" ] || command -v "$runtime" >/dev/null || continue
        for nproc in "$(ulimit -Hu)" 32768 16384 4096; do
            {
                printf '# written by deploy/container/podman-env.sh\n[containers]\n'
                printf 'default_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' "$hn" "$hn" "$nproc" "$nproc"
                [ -z "$runtime" ] || printf '[engine]\nruntime = "%s"\n' "$runtime"
            } >"$conf"
            export CONTAINERS_CONF=$conf
            if mf_podman_probe "$image"; then
                printf 'container: podman runs containers with %s\n' "$(grep -v '^#' "$conf" | tr '\n' ' ')" >&2
                return 0
            fi
        done
    done
    unset CONTAINERS_CONF
    rm -f "$conf"
    return 1
}
