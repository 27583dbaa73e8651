#!/usr/bin/env python3
"""fake-hit.py PORTS_JSON METHOD: exit 0 once a queued fault for METHOD has
been hit (the request reached the fake), else 1. For run.sh --cut-when.
Its HTTP timeout is 5 s times $RCTEST_SLOW (the run's calibration, lib.sh)."""
import json
import os
import sys
import urllib.request

port = json.load(open(sys.argv[1]))["imds"]
op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
faults = json.load(op.open("http://127.0.0.1:%d/_fake/faults" % port, timeout=5 * min(max(float(os.environ.get("RCTEST_SLOW") or 1), 1), 5)))
sys.exit(0 if any(f.get("method") == sys.argv[2] and f.get("hits", 0) > 0 for f in faults) else 1)
