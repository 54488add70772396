#!/usr/bin/env bash
# Redis memory of the near-duplicate index (queues/lua/neardup.lua): N random 64-bit
# perceptual hashes indexed through the real script (prelude.lua + neardup.lua, EVALSHA, as
# the image worker runs it), then per image: the used_memory delta, and MEMORY USAGE
# (SAMPLES 0: exact) summed over the <prefix>phash:* keys; plus the encodings of the buckets
# and the script's time per image inside Redis (INFO commandstats: index + 68 probes).
# Usage: bench/neardup_mem.sh [N]    (default 100000)
set -euo pipefail
N=${1:-100000}
here=$(cd "$(dirname "$0")" && pwd)
lua=$here/../queues/lua
T=$(mktemp -d)
redis-server --port 0 --unixsocket "$T/r.sock" --save "" --appendonly no --daemonize no \
    >"$T/redis.log" 2>&1 &
pid=$!
trap 'kill "$pid"; wait "$pid" 2>/dev/null; rm -rf "$T"' EXIT
r() { redis-cli -s "$T/r.sock" "$@"; }
until r ping >/dev/null 2>&1; do sleep 0.1; done
sha=$(cat "$lua/prelude.lua" "$lua/neardup.lua" | r -x SCRIPT LOAD)
used() { r INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

# RESP for N EVALSHA calls: ULID-like ids, uniformly random hashes (real photo hashes are
# less uniform, which fills fewer, larger buckets: less memory per image, not more).
python3 - "$sha" "$N" >"$T/cmds" <<'PY'
import random, sys
sha, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
b32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
out = sys.stdout
for i in range(n):
    ident = "01M8" + "".join(rnd.choice(b32) for _ in range(22))
    h = "%016x" % rnd.getrandbits(64)
    args = ["EVALSHA", sha, "0", "mf:", "100", ident, h, "6", "2000", "20"]
    out.write("*%d\r\n" % len(args))
    for a in args:
        out.write("$%d\r\n%s\r\n" % (len(a), a))
PY
r MEMORY PURGE >/dev/null
r CONFIG RESETSTAT >/dev/null
before=$(used)
r --pipe <"$T/cmds" >"$T/pipe.log"
after=$(used)
per_call=$(r INFO commandstats | sed -n 's/^cmdstat_evalsha:.*usec_per_call=\([0-9.]*\).*/\1/p')
r --scan --pattern 'mf:phash:*' >"$T/keys"
keys=$(wc -l <"$T/keys")
sum=$(sed 's/^/MEMORY USAGE /; s/$/ SAMPLES 0/' "$T/keys" | r | awk '{s += $1} END {print s}')
lp=$(sed 's/^/OBJECT ENCODING /' "$T/keys" | r | grep -c listpack || true)
printf 'redis-server %s; N=%s images, %s keys (%s listpack buckets)\n' \
    "$(r INFO server | sed -n 's/^redis_version:\(.*\)\r$/\1/p')" "$N" "$keys" "$lp"
printf 'used_memory delta: %s bytes = %s bytes/image\n' "$((after - before))" \
    "$(((after - before) / N))"
printf 'MEMORY USAGE sum over mf:phash:*: %s bytes = %s bytes/image\n' "$sum" "$((sum / N))"
printf 'script: %s us/image inside Redis (index + 68 probes; INFO commandstats)\n' "$per_call"
tail -n 2 "$T/pipe.log"
