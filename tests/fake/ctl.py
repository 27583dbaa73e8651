#!/usr/bin/env python3
"""One-shot helper for the kv-*.sh scenario scripts (one Python start per
step instead of several):
  ctl.py IMDS_URL reset [FAULTS_JSON]      reset the fake, queue faults
  ctl.py IMDS_URL check SECRET NEEDLES     print "VERSIONS FIRED" for SECRET and
                                           append tokens + stored values to NEEDLES
FIRED is "ok" when every queued fault hit at least once and every fault
with a small count was used up."""
import json
import sys
import urllib.request

base, cmd = sys.argv[1], sys.argv[2]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(method, path, body=None):
    req = urllib.request.Request(base + path, data=body.encode() if body else None, method=method)
    with opener.open(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


if cmd == "reset":
    call("POST", "/_fake/reset")
    if len(sys.argv) > 3 and sys.argv[3]:
        call("POST", "/_fake/faults", sys.argv[3])
elif cmd == "check":
    secret, needles = sys.argv[3], sys.argv[4]
    state = call("GET", "/_fake/state?values")
    faults = call("GET", "/_fake/faults")
    tokens = call("GET", "/_fake/tokens")
    versions = len(state["secrets"].get(secret, {}).get("versions", []))
    ok = all(f.get("hits", 0) >= 1 and (f["count"] == 0 or f["count"] >= 50) for f in faults)
    with open(needles, "a") as f:
        for t in tokens:
            f.write(t + "\n")
        for s in state["secrets"].values():
            for v in s["versions"]:
                f.write(v["value"] + "\n")
    print(versions, "ok" if ok else "faults-not-fired:" + json.dumps(faults).replace(" ", ""))
else:
    sys.exit("unknown command " + cmd)
