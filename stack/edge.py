"""nginx and Caddy on 127.0.0.1 in front of the local Open WebUI, shaped as deployments are.

    python stack/edge.py install   # nginx-light and caddy from apt-get when missing (root only)
    python stack/edge.py start     # in front of the running stack (`python stack/run.py start`)
    python stack/edge.py status    # exit 0 when running
    python stack/edge.py env       # prints `export OPENWEBUI_EDGE_...=...` (URLs, CA, credentials)
    python stack/edge.py stop      # stops the PIDs recorded in .stack/edge/state.json

Each deployment shape (SHAPES) has its own 127.0.0.1 port on each proxy: TLS from a private CA made
at start, a sub-path, basic auth, an SSO gate redirecting to a sign-in page on 127.0.0.2, the
default body limit, a stopped upstream, a short read timeout, an allow-list, and redirects between
http and https. A helper process (`aux`) serves the sign-in page and the https->http target,
recording every request they receive, and a listener that answers too late for the proxies.
Only the standard library and the openssl, nginx and caddy commands are used.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import importlib.util
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, TypeGuard

STACK_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
# "Another host" for cross-origin redirects: the rest of 127.0.0.0/8 is loopback too on Linux.
OTHER_HOST = "127.0.0.2"
PROXIES = ("nginx", "caddy")
# The Debian package of each command edge needs.
APT_PACKAGES = {"nginx": "nginx-light", "caddy": "caddy", "openssl": "openssl"}
# Debian installs nginx into /usr/sbin, which a non-root PATH may lack.
SBIN = ("/usr/sbin", "/sbin")

# Every shape, on every proxy (what each answers: stack/README.md, "Edge").
SHAPES = (
    "tls",  # https, private CA, Open WebUI at the root
    "tls_as_http",  # http:// typed for the TLS-only port
    "plain",  # plain http, Open WebUI at the root
    "plain_as_https",  # https:// typed for the plain-http port
    "http_to_https",  # http that redirects (301) to the TLS URL
    "https_to_http",  # https that redirects (302) to the http recorder on 127.0.0.1
    "subpath",  # Open WebUI under /webui/
    "basic_auth",  # realm "Open WebUI"; the key travels in x-api-key
    "sso",  # 302 to the sign-in page on 127.0.0.2 unless the service token is sent
    "body_limit",  # the default limit: 1 MB
    "stopped_upstream",  # proxies to a closed port
    "slow_upstream",  # 1 s read timeout before a listener that answers after SLOW_SECONDS
    "allow_list",  # only 10.0.0.0/8 allowed: 127.0.0.1 is refused
)
BASIC_REALM = "Open WebUI"
BASIC_USER = "edge-user"
# The headers Cloudflare Access reads a service token from; oauth2-proxy setups pass similar ones.
TOKEN_ID_HEADER = "CF-Access-Client-Id"  # noqa: S105 (a header name)
TOKEN_SECRET_HEADER = "CF-Access-Client-Secret"  # noqa: S105 (a header name)
SUBPATH = "/webui"
ALLOWED_NETWORK = "10.0.0.0/8"
READ_TIMEOUT_SECONDS = 1
SLOW_SECONDS = 30.0
# Large enough for any test upload on every shape but body_limit, which keeps the default.
LARGE_BODY = "100m"
START_TIMEOUT = 20.0

Log = Callable[[str], None]


def _stack() -> ModuleType:
    """stack/run.py (its paths, process and state helpers), shared with whoever loaded it first."""
    name = "openwebui_stack_run"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, STACK_DIR / "run.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


run = _stack()
StackError = run.StackError


def _stderr(message: str) -> None:
    print(f"edge: {message}", file=sys.stderr, flush=True)


def edge_dir() -> Path:
    """Beside the stack's own state (its release's directory): .stack/edge/ for 0.12.4."""
    return Path(run.STATE_DIR) / "edge"


def _state_file() -> Path:
    return edge_dir() / "state.json"


@dataclass
class EdgeState:
    """What runs in front of Open WebUI: written to .stack/edge/state.json, read by tests."""

    server_url: str  # the Open WebUI behind the proxies
    urls: dict[str, dict[str, str]]  # proxy -> shape -> URL
    versions: dict[str, str]  # proxy -> its version
    ca_file: str  # the private CA that signed the proxies' certificate
    basic_auth: tuple[str, str]
    service_token: dict[str, str]  # header -> value that passes the SSO gate
    signin_url: str  # the sign-in page on 127.0.0.2
    downgrade_url: str  # the http recorder on 127.0.0.1 that https_to_http redirects to
    recorded_file: str  # JSON lines: every request the sign-in page and downgrade target got
    pids: dict[str, int]
    markers: dict[str, str]  # name -> a word of its command line (a PID is ours only with it)
    logs: dict[str, str]
    run_dir: str
    started_at: float = field(default_factory=time.time)

    def env(self) -> dict[str, str]:
        env = {
            "OPENWEBUI_EDGE_CA": self.ca_file,
            "OPENWEBUI_EDGE_BASIC_USER": self.basic_auth[0],
            "OPENWEBUI_EDGE_BASIC_PASSWORD": self.basic_auth[1],
            "OPENWEBUI_EDGE_TOKEN_ID": self.service_token[TOKEN_ID_HEADER],
            "OPENWEBUI_EDGE_TOKEN_SECRET": self.service_token[TOKEN_SECRET_HEADER],
            "OPENWEBUI_EDGE_SIGNIN_URL": self.signin_url,
            "OPENWEBUI_EDGE_RECORDED": self.recorded_file,
        }
        for proxy, shapes in self.urls.items():
            for shape, url in shapes.items():
                env[f"OPENWEBUI_EDGE_{proxy.upper()}_{shape.upper()}"] = url
        return env


def read_recorded(path: str | Path) -> list[dict[str, Any]]:
    """Every request the recorders received so far, oldest first."""
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


# --- install -----------------------------------------------------------------------------------


def binary(name: str) -> str | None:
    """The command's path, looking in the sbin directories too."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    return shutil.which(name, path=path)


def missing() -> dict[str, str]:
    """proxy -> why it cannot run here; empty when both can."""
    reasons = {}
    for proxy in PROXIES:
        if binary(proxy) is None:
            reasons[proxy] = f"no `{proxy}` command (Debian: apt-get install {APT_PACKAGES[proxy]})"
    if binary("openssl") is None:
        for proxy in PROXIES:
            reasons.setdefault(proxy, "no `openssl` command to make the private CA")
    return reasons


@contextlib.contextmanager
def _no_service_starts() -> Iterator[None]:
    """A policy-rc.d that forbids starting services while apt-get runs, unless one exists.

    nginx's package otherwise starts nginx on 0.0.0.0:80 (caddy on :80 too) where an init runs.
    """
    policy = Path("/usr/sbin/policy-rc.d")
    if policy.exists():
        yield
        return
    policy.write_text(
        "#!/bin/sh\n# stack/edge.py: no service starts during its apt-get\nexit 101\n"
    )
    policy.chmod(0o755)
    try:
        yield
    finally:
        policy.unlink(missing_ok=True)


def install(log: Log = _stderr) -> dict[str, str]:
    """apt-get install nginx-light, caddy (and openssl) when missing, as root.

    Returns proxy -> why it still cannot run (empty when both can).
    """
    reasons = missing()
    wanted = [APT_PACKAGES[name] for name in APT_PACKAGES if binary(name) is None]
    if not wanted:
        return reasons
    why_not = None
    if os.geteuid() != 0:
        why_not = "not root"
    elif binary("apt-get") is None:
        why_not = "no apt-get"
    if why_not:
        log(f"{', '.join(wanted)} missing and {why_not}: not installing")
        return {proxy: f"{reason}; {why_not} to install it" for proxy, reason in reasons.items()}
    edge_dir().mkdir(parents=True, exist_ok=True)
    log_file = edge_dir() / "install.log"
    arguments = ("install", "-y", "--no-install-recommends", *wanted)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    started = time.monotonic()
    log(f"installing {' '.join(wanted)} with apt-get (log: {log_file})")
    with _no_service_starts(), log_file.open("w") as handle:

        def apt_get(*arguments: str) -> int:
            handle.write(f"$ apt-get {shlex.join(arguments)}\n")
            handle.flush()
            done = subprocess.run(
                ["apt-get", *arguments], stdout=handle, stderr=handle, env=env, check=False
            )
            return done.returncode

        code = apt_get(*arguments)
        if code != 0 and apt_get("update") == 0:  # the package lists may be missing or stale
            code = apt_get(*arguments)
    log(f"apt-get exited {code} after {time.monotonic() - started:.1f} s")
    reasons = missing()
    if code != 0:
        reasons = {
            proxy: f"{reason}; apt-get failed:\n{run.tail(log_file, 5)}"
            for proxy, reason in reasons.items()
        }
    return reasons


# --- the private CA and credentials ------------------------------------------------------------


def _openssl(args: list[str], cwd: Path) -> None:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(
            "TLS",
            f"`openssl {shlex.join(args)}` exited {result.returncode}: {result.stderr.strip()[-400:]}",
        )


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate it signed for 127.0.0.1 and localhost.

    Returns (CA certificate, server certificate, server key). Extensions are those Python's
    strict verification (3.13's default) wants: a critical CA constraint, key identifiers.
    """
    if binary("openssl") is None:
        raise StackError("TLS", "no `openssl` command to make the private CA")
    directory.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=openwebui-adapters edge test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        directory,
    )  # fmt: skip
    server = ["req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr"]
    _openssl([*server, "-subj", "/CN=127.0.0.1"], directory)
    (directory / "server.ext").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    _openssl(
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem"],
        directory,
    )  # fmt: skip
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


def ssha(password: str) -> str:
    """An htpasswd entry in RFC 2307 {SSHA} form, which nginx reads."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 (nginx's format)
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


# --- configurations ----------------------------------------------------------------------------


LISTENING_SHAPES = tuple(
    shape for shape in SHAPES if shape not in ("tls_as_http", "plain_as_https")
)
TEMPLATES = {"nginx": STACK_DIR / "edge.nginx.conf", "caddy": STACK_DIR / "edge.Caddyfile"}


def shape_urls(ports: dict[str, int]) -> dict[str, str]:
    """shape -> URL; tls_as_http and plain_as_https are the other scheme on tls's and plain's port."""
    urls = {shape: f"http://{HOST}:{port}" for shape, port in ports.items()}
    urls["tls"] = f"https://{HOST}:{ports['tls']}"
    urls["https_to_http"] = f"https://{HOST}:{ports['https_to_http']}"
    urls["tls_as_http"] = f"http://{HOST}:{ports['tls']}"
    urls["plain_as_https"] = f"https://{HOST}:{ports['plain']}"
    urls["subpath"] += SUBPATH
    return {shape: urls[shape] for shape in SHAPES}


def fill(template: Path, values: dict[str, str]) -> str:
    """The template with each @NAME@ replaced by values[NAME]; every placeholder must have one."""
    text = template.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    left = sorted(set(re.findall(r"@[A-Z_]+@", text)))
    if left:
        raise StackError("edge config", f"{template.name}: no value for {', '.join(left)}")
    return text


# --- the aux process: sign-in page, downgrade target, slow upstream ------------------------------

SIGNIN_PAGE = b"""<!DOCTYPE html>
<html><head><title>Sign In</title></head>
<body><h1>Sign in to continue</h1>
<form method="post" action="/oauth2/start"><button type="submit">Sign in with SSO</button></form>
</body></html>
"""
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _recorder(listener: str, recorded: Path, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    """A handler that appends every request to `recorded` and answers with the sign-in page."""

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            entry = {
                "listener": listener,
                "host": "{}:{}".format(*self.connection.getsockname()),
                "method": self.command,
                "path": self.path,
                "headers": [[name, value] for name, value in self.headers.items()],
                "body": body.decode("utf-8", errors="replace"),
            }
            with lock, recorded.open("a") as handle:
                handle.write(json.dumps(entry) + "\n")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(SIGNIN_PAGE)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(SIGNIN_PAGE)

        def log_message(self, format: str, *args: Any) -> None:
            print(f"{listener}: {format % args}", flush=True)

    for method in METHODS:
        setattr(Recorder, f"do_{method}", Recorder._record)
    return Recorder


class _Slow(BaseHTTPRequestHandler):
    """Answers after SLOW_SECONDS: longer than any proxy here waits."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        time.sleep(SLOW_SECONDS)
        body = b'{"slow": true}'
        with contextlib.suppress(OSError):  # the proxy gave up long ago
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        print(f"slow: {format % args}", flush=True)


def serve_aux(run_dir: Path) -> None:
    """Serve the recorders and the slow upstream until killed; print `READY <ports as JSON>`."""
    recorded = run_dir / "recorded.jsonl"
    recorded.touch()
    lock = threading.Lock()
    servers = {
        "signin": ThreadingHTTPServer((OTHER_HOST, 0), _recorder("signin", recorded, lock)),
        "downgrade": ThreadingHTTPServer((HOST, 0), _recorder("downgrade", recorded, lock)),
        "slow": ThreadingHTTPServer((HOST, 0), _Slow),
    }
    for server in servers.values():
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(
        "READY " + json.dumps({name: s.server_address[1] for name, s in servers.items()}),
        flush=True,
    )
    threading.Event().wait()


# --- start, stop -------------------------------------------------------------------------------


def _wait_aux(pid: int, log_file: Path, marker: str) -> dict[str, int]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for line in log_file.read_text(errors="replace").splitlines():
            if line.startswith("READY "):
                return {str(name): int(port) for name, port in json.loads(line[6:]).items()}
        run._reap(pid)
        if not run.alive(pid, marker):
            raise StackError("edge aux start", "the recorder process exited", log_file)
        time.sleep(0.05)
    raise StackError("edge aux start", f"no READY line within {START_TIMEOUT:.0f} s", log_file)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _wait_listening(proxy: str, pid: int, marker: str, ports: list[int], log_file: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    waiting = list(ports)
    while time.monotonic() < deadline:
        waiting = [port for port in waiting if not _listening(port)]
        if not waiting:
            return
        run._reap(pid)
        if not run.alive(pid, marker):
            raise StackError(f"{proxy} start", f"{proxy} exited", log_file)
        time.sleep(0.05)
    raise StackError(
        f"{proxy} start", f"ports {waiting} not listening within {START_TIMEOUT:.0f} s", log_file
    )


def _version(proxy: str) -> str:
    """`1.22.1` from `nginx version: nginx/1.22.1`, `v2.6.2` (or `2.6.2`) from `caddy version`."""
    argument = "-v" if proxy == "nginx" else "version"
    result = subprocess.run(
        [binary(proxy) or proxy, argument], capture_output=True, text=True, check=False
    )
    words = (result.stdout + result.stderr).split()
    if not words:
        return "?"
    return words[-1].rsplit("/", 1)[-1] if proxy == "nginx" else words[0]


def read_state() -> EdgeState | None:
    try:
        raw = json.loads(_state_file().read_text())
        raw["basic_auth"] = tuple(raw["basic_auth"])
        return EdgeState(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_state(state: EdgeState) -> None:
    temporary = _state_file().with_suffix(".tmp")
    # Holds the basic-auth password and the service token: readable by its owner only.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(state), handle, indent=2)
    temporary.replace(_state_file())


def running_state() -> EdgeState | None:
    """The recorded edge when every process of it is still ours and running."""
    state = read_state()
    if state is None:
        return None
    if all(run.alive(pid, state.markers[name]) for name, pid in state.pids.items()):
        return state
    return None


def _stack_url() -> str:
    state = run.running_state()
    if state is None:
        raise StackError(
            "stack", "no healthy stack recorded: run `python stack/run.py start` first"
        )
    return str(state.server_url)


def _serves(
    state: EdgeState | None, server_url: str, proxies: tuple[str, ...]
) -> TypeGuard[EdgeState]:
    """`state` runs exactly `proxies` in front of `server_url`."""
    if state is None:
        return False
    return state.server_url == server_url.rstrip("/") and set(state.urls) == set(proxies)


def start(
    server_url: str | None = None, proxies: tuple[str, ...] = PROXIES, log: Log = _stderr
) -> EdgeState:
    """Start the proxies (and the aux process) in front of `server_url`, else the running stack.

    A running edge in front of the same server with the same proxies is reused.
    """
    server_url = (server_url or _stack_url()).rstrip("/")
    unknown = set(proxies) - set(PROXIES)
    if unknown:
        raise StackError("edge", f"unknown proxies {sorted(unknown)}; choose from {PROXIES}")
    with run._lock(edge_dir() / "lock"):
        state = running_state()
        if _serves(state, server_url, proxies):
            log(f"edge already running in front of {server_url}")
            return state
        stale = read_state()
        if stale is not None:
            log("stopping the edge recorded before")
            run.stop_pids(stale.pids, log, stale.markers)
            _state_file().unlink(missing_ok=True)
        unavailable = {proxy: reason for proxy, reason in missing().items() if proxy in proxies}
        if unavailable:
            raise StackError("edge", "; ".join(f"{p}: {r}" for p, r in unavailable.items()))
        return _start(server_url, proxies, log)


def _start(server_url: str, proxies: tuple[str, ...], log: Log) -> EdgeState:
    started = time.monotonic()
    run_dir = edge_dir() / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "nginx-temp").mkdir(parents=True)
    password = secrets.token_urlsafe(12)
    hashing = None
    if "caddy" in proxies:  # bcrypt at Caddy's cost takes a second: hash while the rest starts
        hashing = subprocess.Popen(
            [binary("caddy") or "caddy", "hash-password", "--plaintext", password],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    pids: dict[str, int] = {}
    markers: dict[str, str] = {}
    logs: dict[str, str] = {}
    try:
        ca, cert, key = make_certificates(run_dir / "tls")
        (run_dir / "htpasswd").write_text(f"{BASIC_USER}:{ssha(password)}\n")
        token_id, token_secret = f"{secrets.token_hex(8)}.access", secrets.token_hex(24)
        aux = _start_aux(run_dir, pids, markers, logs)
        downgrade_url = f"http://{HOST}:{aux['downgrade']}"
        signin_url = f"http://{OTHER_HOST}:{aux['signin']}/oauth2/sign_in"
        # As root, nginx's workers would run as nobody, who may not read the run directory.
        user = pwd.getpwuid(os.geteuid()).pw_name
        values = {
            "RUN_DIR": str(run_dir),
            "UPSTREAM": server_url,
            "CERT": str(cert),
            "KEY": str(key),
            "USER": f"user {user};" if os.geteuid() == 0 else "",
            "LARGE_BODY": LARGE_BODY,
            "SUBPATH": SUBPATH,
            "REALM": BASIC_REALM,
            "USER_NAME": BASIC_USER,
            "TOKEN_ID": token_id,
            "TOKEN_SECRET": token_secret,
            "SIGNIN_URL": signin_url,
            "DOWNGRADE_URL": downgrade_url,
            "SLOW_PORT": str(aux["slow"]),
            "READ_TIMEOUT": str(READ_TIMEOUT_SECONDS),
            "ALLOWED_NETWORK": ALLOWED_NETWORK,
        }
        urls: dict[str, dict[str, str]] = {}
        for proxy in proxies:
            ports = {shape: run.free_port() for shape in LISTENING_SHAPES}
            values.update({f"PORT_{shape.upper()}": str(port) for shape, port in ports.items()})
            values["CLOSED_PORT"] = str(run.free_port())  # never bound: the stopped upstream
            if hashing is not None and "PASSWORD_HASH" not in values:
                values["PASSWORD_HASH"] = _caddy_hash(hashing)
            config = run_dir / TEMPLATES[proxy].name.removeprefix("edge.")
            config.write_text(fill(TEMPLATES[proxy], values))
            pids[proxy] = _start_proxy(proxy, config, list(ports.values()), markers, logs)
            urls[proxy] = shape_urls(ports)
            _check_reaches_openwebui(proxy, urls[proxy]["plain"], Path(logs[proxy]))
    except BaseException:
        run.stop_pids(pids, log, markers)
        if hashing is not None and hashing.poll() is None:
            hashing.kill()
            hashing.wait()
        raise
    state = EdgeState(
        server_url=server_url,
        urls=urls,
        versions={proxy: _version(proxy) for proxy in proxies},
        ca_file=str(ca),
        basic_auth=(BASIC_USER, password),
        service_token={TOKEN_ID_HEADER: token_id, TOKEN_SECRET_HEADER: token_secret},
        signin_url=signin_url,
        downgrade_url=downgrade_url,
        recorded_file=str(run_dir / "recorded.jsonl"),
        pids=pids,
        markers=markers,
        logs=logs,
        run_dir=str(run_dir),
    )
    _write_state(state)
    elapsed = time.monotonic() - started
    log(f"{' and '.join(proxies)} up in front of {server_url} in {elapsed:.1f} s")
    return state


def _start_aux(
    run_dir: Path, pids: dict[str, int], markers: dict[str, str], logs: dict[str, str]
) -> dict[str, int]:
    """Start the aux process (recorders, slow upstream); returns its ports by listener."""
    logs["aux"] = str(run_dir / "aux.log")
    markers["aux"] = str(Path(__file__).resolve())
    pids["aux"] = run._spawn(
        [sys.executable, markers["aux"], "aux", "--run-dir", str(run_dir)],
        Path(logs["aux"]),
        {**os.environ, "PYTHONUNBUFFERED": "1"},
        run_dir,
    )
    return _wait_aux(pids["aux"], Path(logs["aux"]), markers["aux"])


def _caddy_hash(hashing: subprocess.Popen[str]) -> str:
    hashed, errors = hashing.communicate(timeout=60)
    if hashing.returncode != 0 or not hashed.strip():
        raise StackError("caddy start", f"`caddy hash-password` failed: {errors.strip()[-300:]}")
    return hashed.strip()


def _start_proxy(
    proxy: str, config: Path, ports: list[int], markers: dict[str, str], logs: dict[str, str]
) -> int:
    """Run nginx or Caddy on `config` (HOME and XDG dirs inside the run directory); its PID."""
    run_dir = config.parent
    executable = binary(proxy) or proxy
    if proxy == "nginx":
        error_log = run_dir / "nginx-error.log"
        command = [executable, "-p", str(run_dir), "-c", str(config), "-e", str(error_log)]
    else:
        command = [executable, "run", "--config", str(config), "--adapter", "caddyfile"]
    home = run_dir / f"{proxy}-home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    env.update(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    logs[proxy] = str(run_dir / f"{proxy}.log")
    markers[proxy] = str(config)  # nginx's retitled command line still holds it
    pid: int = run._spawn(command, Path(logs[proxy]), env, run_dir)
    _wait_listening(proxy, pid, markers[proxy], ports, Path(logs[proxy]))
    return pid


def _check_reaches_openwebui(proxy: str, plain_url: str, log_file: Path) -> None:
    try:
        status, body = run.http("GET", f"{plain_url}/health", timeout=10.0)
    except OSError as exc:
        raise StackError(f"{proxy} start", f"GET {plain_url}/health: {exc}", log_file) from exc
    if status != 200:
        raise StackError(
            f"{proxy} start", f"GET {plain_url}/health -> {status}: {str(body)[:200]}", log_file
        )


def stop(log: Log = _stderr, state: EdgeState | None = None) -> bool:
    """Stop the edge's processes by PID; False when none was recorded."""
    with run._lock(edge_dir() / "lock"):
        recorded = read_state()
        state = state or recorded
        if state is None:
            return False
        run.stop_pids(state.pids, log, state.markers)
        if recorded is not None and recorded.pids == state.pids:
            _state_file().unlink(missing_ok=True)
        log("edge stopped")
        return True


@contextlib.contextmanager
def running_edge(
    server_url: str, proxies: tuple[str, ...] = PROXIES, log: Log = _stderr
) -> Iterator[EdgeState]:
    """The edge in front of `server_url` for a block: a running one is reused and left running."""
    state = running_state()
    if _serves(state, server_url, proxies):
        log(f"using the edge already running in front of {state.server_url}")
        yield state
        return
    state = start(server_url, proxies, log)
    try:
        yield state
    finally:
        stop(log, state)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["install", "start", "stop", "status", "env", "aux"])
    parser.add_argument(
        "--server-url", help="the Open WebUI to stand in front of (default: the running stack)"
    )
    parser.add_argument(
        "--proxy", action="append", choices=PROXIES, help="only this proxy (repeatable)"
    )
    parser.add_argument("--run-dir", help=argparse.SUPPRESS)
    parser.add_argument("--version", help="the stack's Open WebUI release (as for stack/run.py)")
    args = parser.parse_args(argv)
    try:
        if args.version:
            run._configure(args.version)
        if args.command == "aux":
            serve_aux(Path(args.run_dir))
        elif args.command == "install":
            reasons = install()
            for proxy, reason in reasons.items():
                _stderr(f"{proxy} unavailable: {reason}")
            if not reasons:
                print(" ".join(f"{proxy} {_version(proxy)}" for proxy in PROXIES))
            return 1 if reasons else 0
        elif args.command == "start":
            started = start(args.server_url, tuple(args.proxy or PROXIES))
            print(json.dumps(started.urls, indent=2))
        elif args.command == "stop":
            if not stop():
                _stderr(f"no edge recorded in {_state_file()}")
        elif args.command == "status":
            state = running_state()
            if state is None:
                print("not running")
                return 1
            for proxy, version in state.versions.items():
                print(f"{proxy} {version} (pid {state.pids[proxy]}) in front of {state.server_url}")
            print(f"logs and configs in {state.run_dir}")
        else:
            state = running_state()
            if state is None:
                _stderr("not running: start it with `python stack/edge.py start`")
                return 1
            print("export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in state.env().items()))
    except StackError as exc:
        _stderr(str(exc))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
