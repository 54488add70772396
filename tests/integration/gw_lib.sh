# Helpers for the mf-gateway tests (source after lib.sh): a free loopback port, the gateway
# started directly (not by mfctl), curl wrappers.

# A TCP port free on 127.0.0.1 now.
gw_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# gw_start NAME [VAR=value ...]: mf-gateway on a free port with extra environment; sets
# GW (base URL) and waits until /healthz answers.
gw_start() {
    local name=$1
    shift
    GW_PORT=$(gw_free_port)
    GW="http://127.0.0.1:$GW_PORT"
    mf_start "$name" env "$@" MF_HTTP_LISTEN="127.0.0.1:$GW_PORT" "$MF_BIN_DIR/mf-gateway"
    mf_wait 10 "$name answers /healthz" curl -sf "$GW/healthz"
}

# http_code URL [curl args...]: the status code only.
http_code() {
    local url=$1
    shift
    curl -s --path-as-is -o /dev/null -w '%{http_code}' "$@" "$url"
}
