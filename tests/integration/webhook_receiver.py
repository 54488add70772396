#!/usr/bin/env python3
"""A webhook receiver for the notifier tests.

Verifies every request the way the Standard Webhooks specification says a receiver must
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>" with the base64 key after
"whsec_", any of the space-separated "v1,<base64>" signatures matching, compared in
constant time, and the timestamp within 5 minutes of now.

Records one JSON line per request in --out: webhook-id, whether the signature verified, the
HTTP status answered, the path, the receive time (ms) and the body.

Faults come from --control, a file read on every request: "<status> <count>" answers the
next <count> requests with <status> (-1: every one; 302 and 301 carry a Location to
/moved), "slow <seconds> <count>" answers 200 after a sleep. The count is consumed by
rewriting the file; an empty or missing file means 200.

The listening port is written to --port-file once the socket is bound.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300
LOCK = threading.Lock()


def verify(secrets, msg_id, ts, body, header):
    if not msg_id or not ts or not header:
        return False
    try:
        if abs(time.time() - int(ts)) > TOLERANCE_S:
            return False
    except ValueError:
        return False
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    for secret in secrets:
        key = base64.b64decode(secret[6:] if secret.startswith("whsec_") else secret)
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for sig in header.split(" "):
            version, _, value = sig.partition(",")
            if version == "v1" and hmac.compare_digest(value, expected):
                return True
    return False


def take_fault(path):
    """Returns (status, delay) for this request, consuming one count from the file."""
    with LOCK:
        try:
            with open(path) as f:
                words = f.read().split()
        except OSError:
            return 200, 0.0
        if not words:
            return 200, 0.0
        if words[0] == "slow":
            status, delay, count = 200, float(words[1]), int(words[2])
        else:
            status, delay, count = int(words[0]), 0.0, int(words[1])
        if count > 0:
            count -= 1
            with open(path + ".tmp", "w") as f:
                f.write("" if count == 0 else " ".join(words[:-1] + [str(count)]))
            os.replace(path + ".tmp", path)
        return status, delay


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the deliveries file is the record
        pass

    def do_POST(self):
        cfg = self.server.cfg
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status, delay = take_fault(cfg.control) if cfg.control else (200, 0.0)
        if delay:
            time.sleep(delay)
        msg_id = self.headers.get("webhook-id", "")
        rec = {
            "id": msg_id,
            "timestamp": self.headers.get("webhook-timestamp", ""),
            "valid": verify(cfg.secret, msg_id, self.headers.get("webhook-timestamp", ""), body,
                            self.headers.get("webhook-signature", "")),
            "status": status,
            "path": self.path,
            "recv_ms": int(time.time() * 1000),
        }
        try:
            rec["body"] = json.loads(body)
        except ValueError:
            rec["body"] = None
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with LOCK:
            with open(cfg.out, "a") as f:
                f.write(line)
        self.send_response(status)
        if status in (301, 302, 307, 308):
            self.send_header("Location", "/moved")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--secret", action="append", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--control", default="")
    cfg = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", cfg.port), Handler)
    srv.daemon_threads = True
    srv.cfg = cfg
    with open(cfg.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(cfg.port_file + ".tmp", cfg.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
