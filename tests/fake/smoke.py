#!/usr/bin/env python3
"""Checks the fake's own contract with a stdlib client (no rootcrypt):
token, 401 challenge, secret versions, wrap/unwrap round trip, faults.
Usage: smoke.py STATE_DIR"""
import json, os, ssl, sys, urllib.error, urllib.parse, urllib.request, http.client

d = sys.argv[1]
ports = json.load(open(os.path.join(d, "ports.json")))
host = "rootcrypt-test.vault.azure.net"
imds = "127.0.0.1:%d" % ports["imds"]
ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))


def imds_get(path, headers=None):
    c = http.client.HTTPConnection(imds, timeout=10)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def vault(method, path, token=None, body=None):
    # Connect to loopback but verify the certificate for the vault host name.
    c = http.client.HTTPSConnection(host, ports["vault"], context=ctx, timeout=10)
    c.sock = ctx.wrap_socket(__import__("socket").create_connection(("127.0.0.1", ports["vault"])),
                             server_hostname=host)
    h = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def ctl(method, path, body=None):
    c = http.client.HTTPConnection(imds, timeout=10)
    c.request(method, path, body=json.dumps(body) if body is not None else None)
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")


def check(cond, what):
    if not cond:
        sys.exit("smoke: FAILED: " + what)


tp = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + \
    urllib.parse.quote("https://vault.azure.net", safe="")
st, _, b = imds_get(tp)
check(st == 400 and json.loads(b)["error"] == "invalid_request", "IMDS without Metadata header")
st, _, b = imds_get(tp, {"Metadata": "true", "X-Forwarded-For": "10.0.0.1"})
check(st == 400, "IMDS with X-Forwarded-For")
st, _, b = imds_get(tp, {"Metadata": "true"})
tok = json.loads(b)
check(st == 200 and isinstance(tok["expires_on"], str) and tok["token_type"] == "Bearer", "token")
st, h, b = vault("GET", "/secrets/x?api-version=7.4")
check(st == 401 and 'resource="https://vault.azure.net"' in h.get("WWW-Authenticate", ""),
      "401 challenge")
t = tok["access_token"]
st, _, b = vault("PUT", "/secrets/s1?api-version=7.4", t, {"value": "v1", "tags": {"a": "b"}})
v1 = json.loads(b)["id"].rsplit("/", 1)[1]
check(st == 200, "PUT v1")
st, _, b = vault("PUT", "/secrets/s1?api-version=7.4", t, {"value": "v2"})
check(st == 200, "PUT v2")
st, _, b = vault("GET", "/secrets/s1?api-version=7.4", t)
check(json.loads(b)["value"] == "v2", "GET latest")
st, _, b = vault("GET", "/secrets/s1/%s?api-version=7.4" % v1, t)
check(json.loads(b)["value"] == "v1" and json.loads(b)["tags"] == {"a": "b"}, "GET version")
st, _, b = vault("GET", "/secrets/nope?api-version=7.4", t)
check(st == 404 and json.loads(b)["error"]["code"] == "SecretNotFound", "404")
for alg in ("RSA-OAEP-256", "RSA-OAEP"):
    st, _, b = vault("POST", "/keys/kek/wrapkey?api-version=7.4", t, {"alg": alg, "value": "AAECAw"})
    w = json.loads(b)
    check(st == 200 and w["kid"].startswith("https://%s/keys/kek/" % host), "wrap " + alg)
    st, _, b = vault("POST", "/keys/kek/%s/unwrapkey?api-version=7.4" % w["kid"].rsplit("/", 1)[1],
                     t, {"alg": alg, "value": w["value"]})
    check(st == 200 and json.loads(b)["value"] == "AAECAw", "unwrap " + alg)
ctl("POST", "/_fake/faults", [{"service": "vault", "method": "GET", "status": 429, "retry_after": "3"}])
st, h, b = vault("GET", "/secrets/s1?api-version=7.4", t)
check(st == 429 and h.get("Retry-After") == "3", "429 fault")
st, s = ctl("GET", "/_fake/state")
check(len(s["secrets"]["s1"]["versions"]) == 2 and "value" not in s["secrets"]["s1"]["versions"][0],
      "state")
st, log = ctl("GET", "/_fake/log")
check(log[-1]["fault"] == 429 and all("access_token" not in json.dumps(e) for e in log), "log")
print("smoke: ok")
