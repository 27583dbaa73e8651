#!/usr/bin/env python3
"""Fake Azure IMDS (plain HTTP) and Key Vault (HTTPS) for rootcrypt tests.

Follows the documented REST contracts (IMDS managed-identity token and
instance metadata, Key Vault secrets and keys, api-version 7.4), not
rootcrypt's convenience, and injects faults on request. See README.md in
this directory for the command line, the control interface and the fault
list. Python 3 standard library plus python3-cryptography only.
"""
import argparse
import base64
import datetime
import hashlib
import http.server
import json
import os
import re
import secrets
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
VAULT_RESOURCE = "https://vault.azure.net"
IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token"
IMDS_API_VERSIONS = ("2018-02-01", "2019-08-01", "2019-11-01", "2021-02-01")
INSTANCE_API_VERSIONS = ("2017-08-01", "2019-06-01", "2020-09-01", "2021-02-01",
                         "2021-12-13", "2023-07-01")
SECRET_NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_SECRET_BYTES = 25 * 1024
MAX_TAGS = 15
HUGE_BODY = 4 * 1024 * 1024

# Texts IMDS documents for its retryable statuses.
IMDS_STATUS_TEXT = {
    400: ("invalid_request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "IMDS endpoint is updating"),
    410: ("gone", "IMDS is being updated and will be available in a maximum of 70 seconds"),
    429: ("too_many_requests", "IMDS Throttle limit exceeded"),
    500: ("unknown_error", "Transient error; retry"),
    503: ("service_unavailable", "IMDS service unavailable"),
}
KV_STATUS_TEXT = {
    400: ("BadParameter", "Bad request"),
    401: ("Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."),
    403: ("Forbidden", "Caller is not authorized to perform action on resource. "
                       "If role assignments, deny assignments or role definitions were changed "
                       "recently, please observe propagation time."),
    404: ("NotFound", "The requested resource was not found."),
    409: ("Conflict", "Conflict"),
    410: ("Gone", "The resource is gone."),
    429: ("Throttled", "Operations per second limit reached. Retry after the interval "
                       "in the Retry-After header."),
    500: ("InternalServerError", "An unexpected error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "Gateway timeout."),
}


def now():
    return int(time.time())


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_atomic(path, data):
    tmp = path + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


# --- PKI: a test CA, the vault certificate, and two wrong ones for faults ---

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _make_ca(cn):
    key = _key()
    t = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(t - datetime.timedelta(days=2))
            .not_valid_after(t + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _make_leaf(ca_key, ca_cert, host):
    key = _key()
    t = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(t - datetime.timedelta(days=2))
            .not_valid_after(t + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def _pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def ensure_pki(d, vault_host):
    """Creates (once) DIR/ca.pem and certificates; regenerates the leaf when
    the vault host name changes. Returns the file names of the three chains."""
    ca_pem, ca_key_pem = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    if not (os.path.exists(ca_pem) and os.path.exists(ca_key_pem)):
        key, cert = _make_ca("rootcrypt fake Azure test CA")
        write_atomic(ca_key_pem, _pem_key(key))
        write_atomic(ca_pem, _pem_cert(cert))
    ca_key = serialization.load_pem_private_key(open(ca_key_pem, "rb").read(), None)
    ca_cert = x509.load_pem_x509_certificate(open(ca_pem, "rb").read())
    host_file = os.path.join(d, "vault.host")
    leaf = os.path.join(d, "vault.pem")
    if not os.path.exists(leaf) or not os.path.exists(host_file) or \
            open(host_file).read().strip() != vault_host:
        key, cert = _make_leaf(ca_key, ca_cert, vault_host)
        write_atomic(leaf, _pem_key(key) + _pem_cert(cert))
        # Same CA, another name: "wrong host name" fault.
        key, cert = _make_leaf(ca_key, ca_cert, "wrong-host.vault.azure.net")
        write_atomic(os.path.join(d, "wrong-name.pem"), _pem_key(key) + _pem_cert(cert))
        # Right name, unknown CA: "wrong certificate" fault.
        rkey, rcert = _make_ca("rogue test CA")
        key, cert = _make_leaf(rkey, rcert, vault_host)
        write_atomic(os.path.join(d, "wrong-ca.pem"), _pem_key(key) + _pem_cert(cert))
        write_atomic(host_file, vault_host.encode() + b"\n")
    return {"good": leaf, "wrong_name": os.path.join(d, "wrong-name.pem"),
            "wrong_cert": os.path.join(d, "wrong-ca.pem")}


def tls_context(chain):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(chain)
    return ctx


# --- State ---

class State:
    def __init__(self, d, vault_host):
        self.dir = d
        self.vault_host = vault_host
        self.lock = threading.Lock()
        self.kek_file = os.path.join(d, "keys.json")
        self.secrets_file = os.path.join(d, "secrets.json")
        self.keys = {}
        self.load_keys()
        self.reset(keep_secrets=True)

    def load_keys(self):
        if os.path.exists(self.kek_file):
            raw = json.load(open(self.kek_file))
            for name, versions in raw.items():
                self.keys[name] = [
                    {"version": v["version"], "created": v["created"],
                     "key": serialization.load_pem_private_key(v["pem"].encode(), None)}
                    for v in versions]
        if "kek" not in self.keys:
            self.add_key_version("kek")

    def save_keys(self):
        raw = {n: [{"version": v["version"], "created": v["created"],
                    "pem": _pem_key(v["key"]).decode()} for v in vs]
               for n, vs in self.keys.items()}
        write_atomic(self.kek_file, json.dumps(raw).encode())

    def add_key_version(self, name):
        v = {"version": uuid.uuid4().hex, "created": now(), "key": _key()}
        self.keys.setdefault(name, []).append(v)
        self.save_keys()
        return v

    def reset(self, keep_secrets=False):
        self.faults = []
        self.log = []
        self.seq = 0
        self.tokens = {}
        self.token_lifetime = 86399
        self.vm = {"vmId": "5c08b38e-4d57-4c23-ac45-aca61037f084", "name": "rootcrypt-test-vm"}
        self.identities = [
            {"kind": "system", "client_id": "9a5a1e9e-3c4d-4a3e-9d7a-0c9a2f6b0001",
             "object_id": "7d2e4c1a-58c1-4a0b-b6a4-2b1c8d9e0001", "msi_res_id": None},
            {"kind": "user", "client_id": "11111111-2222-3333-4444-555555555555",
             "object_id": "66666666-7777-8888-9999-000000000000",
             "msi_res_id": "/subscriptions/00000000-0000-0000-0000-000000000000/"
                           "resourceGroups/rootcrypt-test/providers/"
                           "Microsoft.ManagedIdentity/userAssignedIdentities/rootcrypt-test"},
        ]
        self.denied = set()   # identity client_ids the vault answers 403 for
        self.secrets = {}
        if keep_secrets and os.path.exists(self.secrets_file):
            self.secrets = json.load(open(self.secrets_file))
        else:
            self.save_secrets()

    def save_secrets(self):
        write_atomic(self.secrets_file, json.dumps(self.secrets).encode())

    def next_fault(self, service, method, path, tls_only=False):
        with self.lock:
            for f in self.faults:
                if f["count"] <= 0:
                    continue
                tls = f.get("action") in ("wrong_cert", "wrong_name")
                if tls != tls_only:
                    continue
                if f.get("service", "any") not in ("any", service):
                    continue
                if not tls_only:
                    if f.get("method") and f["method"].upper() != method:
                        continue
                    if f.get("path") and not re.search(f["path"], path):
                        continue
                f["count"] -= 1
                f["hits"] = f.get("hits", 0) + 1
                return f
        return None

    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            entry["time"] = round(time.time(), 3)
            self.log.append(entry)


STATE = None


def validate_fault(f):
    if not isinstance(f, dict):
        raise ValueError("a fault is a JSON object")
    known = {"service", "method", "path", "count", "status", "retry_after", "delay",
             "action", "after", "body", "content_type", "headers"}
    extra = set(f) - known
    if extra:
        raise ValueError("unknown fault fields: %s" % ", ".join(sorted(extra)))
    if f.get("service", "any") not in ("any", "imds", "vault"):
        raise ValueError("service must be imds, vault or any")
    actions = (None, "reset", "close", "truncate", "malformed", "huge", "content_type",
               "expire_token", "wrong_cert", "wrong_name")
    if f.get("action") not in actions:
        raise ValueError("unknown action %r" % f.get("action"))
    if "status" in f and not (isinstance(f["status"], int) and 100 <= f["status"] <= 599):
        raise ValueError("status must be an HTTP status code")
    if "path" in f:
        re.compile(f["path"])
    if "headers" in f and not (isinstance(f["headers"], dict) and
                               all(isinstance(v, str) for v in f["headers"].values())):
        raise ValueError("headers must map names to strings")
    if "status" not in f and f.get("action") is None and "delay" not in f:
        raise ValueError("a fault needs status, action or delay")
    g = dict(f)
    g["count"] = int(f.get("count", 1))
    g["delay"] = float(f.get("delay", 0))
    return g


class Reply:
    def __init__(self, status, obj=None, headers=None, body=None, ctype="application/json; charset=utf-8"):
        self.status = status
        self.headers = dict(headers or {})
        if body is None:
            body = b"" if obj is None else json.dumps(obj).encode()
        self.body = body if isinstance(body, bytes) else body.encode()
        self.ctype = ctype


def imds_error(status, code=None, desc=None):
    dc, dd = IMDS_STATUS_TEXT.get(status, ("error", "Error"))
    return Reply(status, {"error": code or dc, "error_description": desc or dd})


def kv_error(status, code=None, msg=None, headers=None):
    dc, dm = KV_STATUS_TEXT.get(status, ("Error", "Error"))
    return Reply(status, {"error": {"code": code or dc, "message": msg or dm}}, headers)


def challenge_header():
    return {"WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/%s", '
                                'resource="%s"' % (TENANT, VAULT_RESOURCE)}


# --- Handlers ---

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAzure/1.0"
    service = "?"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()

    def _send(self, reply, fault=None):
        if fault and fault.get("content_type"):
            reply.ctype = fault["content_type"]
        action = fault.get("action") if fault else None
        body = reply.body
        self.send_response(reply.status)
        if reply.ctype:
            self.send_header("Content-Type", reply.ctype)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if action == "truncate":
            self.wfile.write(body[:max(1, len(body) // 2)])
            self.wfile.flush()
            self._abort()
            return
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def _abort(self):
        """Connection reset: RST instead of FIN."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        sock = self.request
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock = socket.socket(fileno=os.dup(sock.fileno()))
                self.request.close()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        except OSError:
            pass
        self.close_connection = True

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1024 * 1024:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def _handle(self):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True)
        entry = {"service": self.service, "method": self.command,
                 "path": path, "query": url.query,
                 "auth": "bearer" if (self.headers.get("Authorization") or "").startswith("Bearer ")
                 else ("other" if self.headers.get("Authorization") else "none"),
                 "client": self.client_address[0]}
        if self.service == "imds" and path.startswith("/_fake/"):
            self._send(self.control(path, query))
            return
        try:
            body = self._read_body()
        except ValueError:
            self._send(Reply(413, body=b"too large", ctype="text/plain"))
            return
        fault = STATE.next_fault(self.service, self.command, path)
        entry["fault"] = None
        if fault:
            entry["fault"] = fault.get("action") or fault.get("status") or "delay"
            if fault["delay"]:
                time.sleep(fault["delay"])
        reply = None
        action = fault.get("action") if fault else None
        # The real operation runs unless the fault replaces it: "after" faults
        # and truncation hit the reply of an operation that did happen.
        run_real = fault is None or bool(fault.get("after")) or \
            action in ("truncate", "expire_token") or (action is None and "status" not in fault)
        if fault and action in ("reset", "close") and not fault.get("after"):
            entry["status"] = action
            STATE.record(entry)
            if action == "reset":
                self._abort()
            else:
                self.close_connection = True
            return
        if fault and action == "expire_token":
            tok = self._bearer()
            with STATE.lock:
                if tok in STATE.tokens:
                    STATE.tokens[tok]["exp"] = now() - 1
        if run_real:
            reply = (self.imds if self.service == "imds" else self.vault)(path, query, body, entry)
        if fault:
            reply = self.apply_fault(fault, reply)
            if reply is None:   # reset/close after the real operation
                entry["status"] = action
                STATE.record(entry)
                return
        entry["status"] = reply.status
        STATE.record(entry)
        try:
            self._send(reply, fault)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def apply_fault(self, f, reply):
        action = f.get("action")
        if action in ("reset", "close"):
            if action == "reset":
                self._abort()
            else:
                self.close_connection = True
            return None
        if action == "malformed":
            return Reply(f.get("status", 200), body=f.get("body", '{"access_token": "eyJ0eXAi'
                                                          'OiJKV1QiLCJhbGciOi", "value": '))
        if action == "huge":
            pad = "A" * HUGE_BODY
            return Reply(f.get("status", 200), body='{"value": "%s"}' % pad)
        if action == "content_type":
            return Reply(f.get("status", 200), ctype=f.get("content_type", "text/html"),
                         body=f.get("body", "<html><body>Proxy authentication required"
                                            "</body></html>"))
        if "status" in f:
            st = f["status"]
            hdr = {}
            if f.get("retry_after") is not None:
                hdr["Retry-After"] = str(f["retry_after"])
            if f.get("body") is not None:
                r = Reply(st, body=f["body"], headers=hdr)
            elif self.service == "imds":
                r = imds_error(st)
            else:
                if st == 401:
                    hdr.update(challenge_header())
                r = kv_error(st, headers=hdr)
            r.headers.update(hdr)
            r.headers.update(f.get("headers") or {})
            return r
        return reply

    def _bearer(self):
        a = self.headers.get("Authorization") or ""
        return a[7:].strip() if a.startswith("Bearer ") else None

    # --- IMDS ---
    def imds(self, path, query, body, entry):
        if self.headers.get("X-Forwarded-For"):
            return imds_error(400, "bad_request",
                              "Request not allowed: X-Forwarded-For header is present")
        if (self.headers.get("Metadata") or "").lower() != "true":
            return imds_error(400, "invalid_request", "Required metadata header not specified")
        if self.command != "GET":
            return imds_error(405, "method_not_allowed", "Only GET is supported")
        api = (query.get("api-version") or [None])[0]
        if path == IMDS_TOKEN_PATH:
            if not api:
                return imds_error(400, "invalid_request",
                                  "Required query variable 'api-version' is missing")
            if api not in IMDS_API_VERSIONS:
                return imds_error(400, "invalid_request",
                                  "Invalid api-version '%s'" % api)
            resource = (query.get("resource") or [None])[0]
            if not resource:
                return imds_error(400, "invalid_request",
                                  "Required query variable 'resource' is missing")
            ident = self.pick_identity(query)
            if ident is None:
                return imds_error(400, "invalid_request", "Identity not found")
            if isinstance(ident, Reply):
                return ident
            tok = "fake-" + b64url(secrets.token_bytes(48))
            t = now()
            with STATE.lock:
                exp = t + STATE.token_lifetime
                STATE.tokens[tok] = {"exp": exp, "resource": resource,
                                     "client_id": ident["client_id"]}
            entry["identity"] = ident["kind"]
            return Reply(200, {"access_token": tok, "client_id": ident["client_id"],
                               "expires_in": str(exp - t), "expires_on": str(exp),
                               "ext_expires_in": str(exp - t), "not_before": str(t - 300),
                               "resource": resource, "token_type": "Bearer"})
        if path in ("/metadata/instance", "/metadata/instance/compute"):
            if not api:
                return Reply(400, {"error": "Bad request. api-version was not specified in "
                                            "the request. For more information refer to "
                                            "aka.ms/azureimds",
                                   "newest-versions": list(INSTANCE_API_VERSIONS[-3:])})
            if api not in INSTANCE_API_VERSIONS:
                return Reply(400, {"error": "Bad request. api-version is invalid or was not "
                                            "specified in the request.",
                                   "newest-versions": list(INSTANCE_API_VERSIONS[-3:])})
            compute = {"azEnvironment": "AzurePublicCloud", "location": "westeurope",
                       "name": STATE.vm["name"], "osType": "Linux",
                       "resourceGroupName": "rootcrypt-test",
                       "subscriptionId": "00000000-0000-0000-0000-000000000000",
                       "vmId": STATE.vm["vmId"], "vmSize": "Standard_D2s_v5",
                       "tagsList": []}
            if path.endswith("/compute"):
                return Reply(200, compute)
            return Reply(200, {"compute": compute, "network": {"interface": []}})
        return Reply(404, body="Not found", ctype="text/plain; charset=utf-8")

    def pick_identity(self, query):
        sel = [(k, query[k][0]) for k in ("client_id", "object_id", "msi_res_id") if k in query]
        if len(sel) > 1:
            return imds_error(400, "invalid_request",
                              "Only one of client_id, object_id, msi_res_id may be specified")
        if not sel:
            return STATE.identities[0]
        k, v = sel[0]
        for i in STATE.identities:
            if i.get(k) and i[k].lower() == v.lower():
                return i
        return None

    # --- Key Vault ---
    def vault(self, path, query, body, entry):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        if host != STATE.vault_host.lower():
            return kv_error(400, "BadParameter", "Invalid host name '%s'" % host)
        tok = self._bearer()
        if not tok:
            return kv_error(401, headers=challenge_header())
        with STATE.lock:
            info = STATE.tokens.get(tok)
        if info is None:
            return kv_error(401, "Unauthorized", "AKV10032: Invalid issuer.",
                            challenge_header())
        if info["exp"] <= now():
            return kv_error(401, "Unauthorized",
                            "AKV10013: Token has expired. Obtain a new token.",
                            challenge_header())
        if info["resource"].rstrip("/") != VAULT_RESOURCE:
            return kv_error(401, "Unauthorized",
                            "AKV10022: Invalid audience. Expected %s, found: %s."
                            % (VAULT_RESOURCE, info["resource"]), challenge_header())
        if info["client_id"] in STATE.denied:
            return kv_error(403, "Forbidden",
                            "Caller is not authorized to perform action on resource. "
                            "Caller: appid=%s" % info["client_id"],
                            {"x-ms-keyvault-service-version": "1.9.0.0"})
        entry["identity"] = info["client_id"]
        api = (query.get("api-version") or [None])[0]
        if not api:
            return kv_error(400, "BadParameter", "The request URI contains an invalid "
                            "or missing api-version query parameter")
        if not re.fullmatch(r"7\.[0-9]+(-preview)?|20[0-9]{2}-[0-9]{2}-[0-9]{2}", api):
            return kv_error(400, "BadParameter", "The specified version (%s) is not "
                            "recognized." % api)
        if self.command in ("PUT", "POST", "PATCH") and \
                not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return kv_error(400, "BadParameter", "Request body must be application/json")
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        try:
            obj = json.loads(body) if body else None
        except ValueError:
            return kv_error(400, "BadParameter", "The request body is not valid JSON")
        base = "https://%s" % STATE.vault_host
        if parts[0] == "secrets" and len(parts) in (2, 3):
            return self.secret_op(parts, obj, base)
        if parts[0] == "deletedsecrets" and len(parts) in (2, 3):
            return self.deleted_secret_op(parts, base)
        if parts[0] == "keys" and 2 <= len(parts) <= 4:
            return self.key_op(parts, obj, base)
        return kv_error(404, "NotFound", "The requested operation was not found")

    def secret_bundle(self, name, v, base, value=True):
        b = {"id": "%s/secrets/%s/%s" % (base, name, v["version"]),
             "attributes": {"enabled": v["enabled"], "created": v["created"],
                            "updated": v["created"], "recoveryLevel": "Recoverable+Purgeable",
                            "recoverableDays": 90}}
        if value:
            b["value"] = v["value"]
        if v.get("contentType") is not None:
            b["contentType"] = v["contentType"]
        if v.get("tags"):
            b["tags"] = v["tags"]
        return b

    def secret_op(self, parts, obj, base):
        name = parts[1]
        if not SECRET_NAME_RE.match(name):
            return kv_error(400, "BadParameter", "The request URI contains an invalid name: %s"
                            % name)
        with STATE.lock:
            s = STATE.secrets.get(name)
            if self.command == "PUT" and len(parts) == 2:
                if not isinstance(obj, dict) or not isinstance(obj.get("value"), str):
                    return kv_error(400, "BadParameter", "Property 'value' is required")
                if len(obj["value"].encode()) > MAX_SECRET_BYTES:
                    return kv_error(400, "BadParameter", "Secret value exceeds 25 KB")
                tags = obj.get("tags") or {}
                if not isinstance(tags, dict) or len(tags) > MAX_TAGS or any(
                        not isinstance(v, str) or len(k) > 512 or len(v) > 256
                        for k, v in tags.items()):
                    return kv_error(400, "BadParameter", "Invalid tags")
                ct = obj.get("contentType")
                if ct is not None and not isinstance(ct, str):
                    return kv_error(400, "BadParameter", "Invalid contentType")
                if s and s.get("deleted"):
                    return kv_error(409, "Conflict",
                                    "Secret %s is currently in a deleted but recoverable "
                                    "state, and its name cannot be reused; in this state, the "
                                    "secret can only be recovered or purged." % name)
                if not s:
                    s = STATE.secrets[name] = {"versions": [], "deleted": False}
                v = {"version": uuid.uuid4().hex, "value": obj["value"], "contentType": ct,
                     "tags": tags, "created": now(), "enabled": True}
                s["versions"].append(v)
                STATE.save_secrets()
                return Reply(200, self.secret_bundle(name, v, base))
            if self.command == "GET":
                if not s or s.get("deleted") or not s["versions"]:
                    return kv_error(404, "SecretNotFound",
                                    "A secret with (name/id) %s was not found in this key "
                                    "vault. If you recently deleted this secret you may be able "
                                    "to recover it using the correct recovery command. For help "
                                    "resolving this issue, please see "
                                    "https://go.microsoft.com/fwlink/?linkid=2125182" % name)
                if len(parts) == 3 and parts[2] == "versions":
                    return Reply(200, {"value": [self.secret_bundle(name, v, base, False)
                                                 for v in s["versions"]], "nextLink": None})
                if len(parts) == 3 and parts[2]:
                    vs = [v for v in s["versions"] if v["version"] == parts[2]]
                    if not vs:
                        return kv_error(404, "SecretNotFound",
                                        "A secret with (name/id) %s/%s was not found in this "
                                        "key vault." % (name, parts[2]))
                    v = vs[0]
                else:
                    v = s["versions"][-1]
                if not v["enabled"]:
                    return kv_error(403, "Forbidden", "Operation get is not allowed on a "
                                    "disabled secret.")
                return Reply(200, self.secret_bundle(name, v, base))
            if self.command == "DELETE" and len(parts) == 2:
                if not s or s.get("deleted"):
                    return kv_error(404, "SecretNotFound", "A secret with (name/id) %s was "
                                    "not found in this key vault." % name)
                s["deleted"] = True
                s["deletedDate"] = now()
                STATE.save_secrets()
                b = self.secret_bundle(name, s["versions"][-1], base, False)
                b.update({"recoveryId": "%s/deletedsecrets/%s" % (base, name),
                          "deletedDate": s["deletedDate"],
                          "scheduledPurgeDate": s["deletedDate"] + 90 * 86400})
                return Reply(200, b)
        return kv_error(405, "BadParameter", "Method %s not allowed here" % self.command)

    def deleted_secret_op(self, parts, base):
        name = parts[1]
        with STATE.lock:
            s = STATE.secrets.get(name)
            if not s or not s.get("deleted"):
                return kv_error(404, "SecretNotFound", "Deleted Secret not found")
            if self.command == "DELETE" and len(parts) == 2:
                del STATE.secrets[name]
                STATE.save_secrets()
                return Reply(204)
            if self.command == "POST" and len(parts) == 3 and parts[2] == "recover":
                s["deleted"] = False
                STATE.save_secrets()
                return Reply(200, self.secret_bundle(name, s["versions"][-1], base, False))
            if self.command == "GET" and len(parts) == 2:
                return Reply(200, self.secret_bundle(name, s["versions"][-1], base, False))
        return kv_error(405, "BadParameter", "Method not allowed")

    def key_op(self, parts, obj, base):
        name = parts[1]
        op = None
        ver = None
        rest = parts[2:]
        if rest and rest[-1] in ("wrapkey", "unwrapkey", "encrypt", "decrypt"):
            op = rest[-1]
            rest = rest[:-1]
        if rest:
            ver = rest[0]
        with STATE.lock:
            vs = STATE.keys.get(name)
            if not vs:
                return kv_error(404, "KeyNotFound", "A key with (name/id) %s was not found in "
                                "this key vault." % name)
            if ver:
                m = [v for v in vs if v["version"] == ver]
                if not m:
                    return kv_error(404, "KeyNotFound", "A key with (name/id) %s/%s was not "
                                    "found in this key vault." % (name, ver))
                k = m[0]
            else:
                k = vs[-1]
        kid = "%s/keys/%s/%s" % (base, name, k["version"])
        if op is None and self.command == "GET":
            pub = k["key"].public_key().public_numbers()
            nb = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
            eb = pub.e.to_bytes((pub.e.bit_length() + 7) // 8, "big")
            return Reply(200, {"key": {"kid": kid, "kty": "RSA",
                                       "key_ops": ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
                                       "n": b64url(nb), "e": b64url(eb)},
                               "attributes": {"enabled": True, "created": k["created"],
                                              "updated": k["created"],
                                              "recoveryLevel": "Recoverable+Purgeable"}})
        if op is None or self.command != "POST":
            return kv_error(405, "BadParameter", "Method not allowed")
        if not isinstance(obj, dict) or not isinstance(obj.get("alg"), str) or \
                not isinstance(obj.get("value"), str):
            return kv_error(400, "BadParameter", "Properties 'alg' and 'value' are required")
        alg = obj["alg"]
        pads = {"RSA-OAEP": lambda: padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
                "RSA-OAEP-256": lambda: padding.OAEP(padding.MGF1(hashes.SHA256()),
                                                     hashes.SHA256(), None),
                "RSA1_5": lambda: padding.PKCS1v15()}
        if alg not in pads:
            return kv_error(400, "BadParameter", "Invalid algorithm '%s' for key type RSA" % alg)
        try:
            data = b64url_decode(obj["value"])
        except ValueError:
            return kv_error(400, "BadParameter", "Property 'value' is not base64url")
        try:
            if op in ("wrapkey", "encrypt"):
                out = k["key"].public_key().encrypt(data, pads[alg]())
            else:
                out = k["key"].decrypt(data, pads[alg]())
        except ValueError:
            return kv_error(400, "BadParameter", "The parameter is incorrect.")
        return Reply(200, {"kid": kid, "value": b64url(out)})

    # --- control interface (IMDS listener, /_fake/) ---
    def control(self, path, query):
        try:
            body = self._read_body()
            obj = json.loads(body) if body else None
        except ValueError as e:
            return Reply(400, {"error": "bad control request: %s" % e})
        m, p = self.command, path[len("/_fake"):]
        try:
            if m == "POST" and p == "/faults":
                lst = obj if isinstance(obj, list) else [obj]
                faults = [validate_fault(f) for f in lst]
                with STATE.lock:
                    STATE.faults.extend(faults)
                return Reply(200, {"queued": len(faults)})
            if m == "GET" and p == "/faults":
                # All faults queued since the last reset, with "count" left
                # and "hits" so far: tests check each one really fired.
                with STATE.lock:
                    return Reply(200, list(STATE.faults))
            if m == "GET" and p == "/tokens":
                with STATE.lock:
                    return Reply(200, sorted(STATE.tokens))
            if m == "DELETE" and p == "/faults":
                with STATE.lock:
                    STATE.faults = []
                return Reply(200, {})
            if m == "GET" and p == "/log":
                with STATE.lock:
                    return Reply(200, list(STATE.log))
            if m == "GET" and p == "/state":
                return Reply(200, self.state_view("values" in query))
            if m == "POST" and p == "/reset":
                with STATE.lock:
                    STATE.reset(keep_secrets=False)
                return Reply(200, {})
            if m == "POST" and p == "/config":
                if not isinstance(obj, dict):
                    raise ValueError("config is a JSON object")
                with STATE.lock:
                    if "token_lifetime" in obj:
                        STATE.token_lifetime = int(obj["token_lifetime"])
                    if "vm_name" in obj:
                        STATE.vm["name"] = str(obj["vm_name"])
                    if "vm_id" in obj:
                        STATE.vm["vmId"] = str(obj["vm_id"])
                    if "deny_client_ids" in obj:
                        STATE.denied = set(obj["deny_client_ids"])
                    if obj.get("expire_tokens"):
                        for t in STATE.tokens.values():
                            t["exp"] = now() - 1
                return Reply(200, {})
            mk = re.fullmatch(r"/keys/([0-9a-zA-Z-]{1,127})", p)
            if m == "POST" and mk:
                with STATE.lock:
                    v = STATE.add_key_version(mk.group(1))
                return Reply(200, {"kid": "https://%s/keys/%s/%s" % (STATE.vault_host,
                                                                    mk.group(1), v["version"])})
        except (ValueError, TypeError, re.error) as e:
            return Reply(400, {"error": str(e)})
        return Reply(404, {"error": "unknown control request %s %s" % (m, path)})

    def state_view(self, with_values):
        with STATE.lock:
            out = {"vault_host": STATE.vault_host, "vm": dict(STATE.vm),
                   "identities": [{k: v for k, v in i.items()} for i in STATE.identities],
                   "tokens_issued": len(STATE.tokens), "secrets": {}, "keys": {}}
            for n, s in STATE.secrets.items():
                vs = []
                for v in s["versions"]:
                    e = {"version": v["version"], "contentType": v.get("contentType"),
                         "tags": v.get("tags") or {}, "created": v["created"],
                         "enabled": v["enabled"],
                         "value_sha256": hashlib.sha256(v["value"].encode()).hexdigest()}
                    if with_values:
                        e["value"] = v["value"]
                    vs.append(e)
                out["secrets"][n] = {"deleted": bool(s.get("deleted")), "versions": vs}
            for n, vs in STATE.keys.items():
                out["keys"][n] = [{"version": v["version"],
                                   "kid": "https://%s/keys/%s/%s" % (STATE.vault_host, n,
                                                                    v["version"])}
                                  for v in vs]
            return out

    def do_GET(self):
        self._safe()

    do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _safe(self):
        try:
            self._handle()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True


class ImdsHandler(Handler):
    service = "imds"


class VaultHandler(Handler):
    service = "vault"


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # Handshake failures and resets are what fault tests provoke.
        pass


class TlsServer(Server):
    def __init__(self, addr, handler, chains):
        super().__init__(addr, handler)
        self.contexts = {k: tls_context(v) for k, v in chains.items()}

    def get_request(self):
        sock, addr = self.socket.accept()
        f = STATE.next_fault("vault", "", "", tls_only=True)
        ctx = self.contexts[f["action"]] if f else self.contexts["good"]
        if f:
            STATE.record({"service": "vault", "method": "TLS", "path": "", "query": "",
                          "auth": "none", "client": addr[0], "fault": f["action"],
                          "status": "tls"})
        return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


def parse_listen(s):
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected ADDR:PORT, got %r" % s)
    return host.strip("[]"), int(port)


def main():
    global STATE
    ap = argparse.ArgumentParser(description="Fake Azure IMDS + Key Vault for rootcrypt tests")
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--imds-listen", type=parse_listen, default=("127.0.0.1", 0))
    ap.add_argument("--vault-listen", type=parse_listen, default=("127.0.0.1", 0))
    ap.add_argument("--vault-host", default="rootcrypt-test.vault.azure.net")
    a = ap.parse_args()

    d = os.path.abspath(a.state_dir)
    os.makedirs(d, exist_ok=True)
    ports = os.path.join(d, "ports.json")
    try:
        os.unlink(ports)   # scripts wait for a fresh one
    except FileNotFoundError:
        pass
    chains = ensure_pki(d, a.vault_host)
    STATE = State(d, a.vault_host)
    imds = Server(a.imds_listen, ImdsHandler)
    vault = TlsServer(a.vault_listen, VaultHandler, chains)
    for s in (imds, vault):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    write_atomic(ports, json.dumps({"imds": imds.server_address[1],
                                    "vault": vault.server_address[1]}).encode())
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
