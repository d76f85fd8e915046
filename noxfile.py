"""Development sessions: `nox -s tests lint typecheck` is what CI and the README run."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import nox
import nox.command
import tomllib

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
# LiteLLM fetches its price list at import unless told to use the copy it ships with.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# Releases known to be bad, kept out of every install (none today: the compromised LiteLLM
# 1.82.7 and 1.82.8 are below the floor and no longer served).
CONSTRAINTS: list[str] = []


def install_project(session: nox.Session, extras: str = "all,test", *pins: str) -> None:
    """Install the package with its extras, under the project's constraints (and any pins)."""
    constraints = session.create_tmp() + "/constraints.txt"
    with open(constraints, "w") as handle:
        handle.write("\n".join(CONSTRAINTS) + "\n")
    session.install("-c", constraints, "-e", f".[{extras}]", *pins)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The offline suite: unit tests and cassette replays (no network)."""
    install_project(session)
    session.run("pytest", "-q", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The docs site into site/, strict: a broken link or API name fails (`-- serve` to preview)."""
    install_project(session, "docs")
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", *session.posargs[1:])
        return
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    install_project(session, "all,test,typecheck")
    session.run("mypy")


def _interpreter(version: str) -> str:
    """`python3.X` on PATH, else pyenv's build of it (pyenv shims hide versions not selected)."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    builds = sorted(pyenv.glob(f"versions/{version}.*/bin/python{version}"))
    return str(builds[-1]) if builds else version


def declared_floors(extras: tuple[str, ...] = ("litellm", "langchain", "smolagents")) -> list[str]:
    """`name==X` for every `name>=X` the package declares (core and the given extras).

    The floor end of the compat session installs exactly these: the range in pyproject.toml is
    the single source, so a raised floor is tested the moment it is written.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    pins = []
    for requirement in requirements:
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*>=\s*([^,;\s]+)", requirement)
        if match:
            pins.append(f"{match[1]}=={match[2]}")
    return pins


# The ends of every declared range: the floors on the lowest Python, the newest releases the
# package index serves on the others (3.11 is the `tests` session's). Each runs the whole
# offline suite and the type check.
COMPAT_ENDS = [
    (_interpreter("3.10"), "floor"),
    (_interpreter("3.12"), "newest"),
    (_interpreter("3.13"), "newest"),
]
# Test tools old enough to break on the floors' Pythons are not what the floors promise.
FLOOR_TEST_PINS: list[str] = []


@nox.session
@nox.parametrize(
    ("python", "end"),
    COMPAT_ENDS,
    ids=[f"{end}-{Path(python).name.removeprefix('python')}" for python, end in COMPAT_ENDS],
)
def compat(session: nox.Session, end: str) -> None:
    """The offline suite and mypy at both ends of every declared range (docs/compatibility.md)."""
    pins = [*declared_floors(), *FLOOR_TEST_PINS] if end == "floor" else []
    install_project(session, "all,test,typecheck", *pins)
    session.run("uv", "pip", "list", "--python", session.virtualenv.location, silent=False)
    session.run("pytest", "-q", "-p", "no:cacheprovider", "-m", "not live", *session.posargs)
    session.run("mypy")


# --- a real Open WebUI: stack/run.py (standard library only, so it runs inside nox itself) -------

ROOT = Path(__file__).resolve().parent
LOCAL_MODEL = "llama3.2"  # the docs' name for the stack's Ollama model llama3.2:latest
LOCAL_DISPLAY_NAME = "Team Assistant"  # the stack's workspace model, whose id is team-assistant
STUB_BANNER = (
    "No OPENWEBUI_SERVER_URL given: this is a real Open WebUI on 127.0.0.1 whose model backend is a "
    "deterministic stub (it echoes prompts and scripts tool calls), so the answers are canned and "
    "marked [scripted local model]; what the demo shows is the package's own work: routes, model "
    "ids, errors, doctor, adapters."
)


def _stack_module(script: str = "run") -> ModuleType:
    """stack/<script>.py, imported from its path (it is a script beside the package)."""
    name = f"openwebui_stack_{script}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "stack" / f"{script}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@contextlib.contextmanager
def _local_stack(session: nox.Session) -> Iterator[dict[str, str]]:
    """The local stack for the duration of the block (a running one is reused and left running)."""
    stack_run = _stack_module()
    try:
        with stack_run.running_stack(log=session.log) as state:
            yield {
                **state.env(),
                "OPENWEBUI_MODEL": LOCAL_MODEL,
                "OPENWEBUI_DEMO_DISPLAY_NAME": LOCAL_DISPLAY_NAME,
            }
    except stack_run.StackError as error:
        session.error(f"the local Open WebUI stack: {error}")


@contextlib.contextmanager
def _server(session: nox.Session) -> Iterator[dict[str, str]]:
    """OPENWEBUI_SERVER_URL/OPENWEBUI_API_KEY when set, else the local stack."""
    url = os.environ.get("OPENWEBUI_SERVER_URL")
    if not url:
        with _local_stack(session) as env:
            yield env
        return
    key = os.environ.get("OPENWEBUI_API_KEY")
    if not key:
        session.error("OPENWEBUI_SERVER_URL is set but OPENWEBUI_API_KEY is not")
    session.log(f"using the server at {url}")
    yield {"OPENWEBUI_SERVER_URL": url, "OPENWEBUI_API_KEY": key}


@nox.session(python=False)
def stack(session: nox.Session) -> None:
    """The local Open WebUI: up until Ctrl-C, or `nox -s stack -- start|stop|status|env|install`."""
    stack_run = _stack_module()
    if session.posargs:
        code = stack_run.main(session.posargs[:1])
        if code:
            session.error(f"stack {session.posargs[0]} exited {code}")
        return
    # SIGTERM (a closed terminal, a CI timeout) stops the stack like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with _local_stack(session) as env:
        session.log(f"Open WebUI at {env['OPENWEBUI_SERVER_URL']}; Ctrl-C stops it")
        session.log('in another shell: eval "$(python stack/run.py env)"')
        while True:
            time.sleep(3600)


# Integration tests are the ones marked `vcr` (cassettes) or `live` (a real server only); the
# agent frameworks' live tests have a session of their own (`frameworks`).
INTEGRATION = ["-m", "(vcr or live) and not frameworks"]


def _install_edge(session: nox.Session) -> None:
    """nginx and Caddy for tests/live/edge (`stack/edge.py install`: apt-get as root), best effort.

    Where they cannot be installed, those tests skip with the reason logged here.
    """
    try:
        unavailable = _stack_module("edge").install(log=session.log)
    except OSError as error:
        unavailable = {"nginx and caddy": f"install failed: {error}"}
    for proxy, reason in unavailable.items():
        session.log(f"tests/live/edge will skip {proxy}: {reason}")


@nox.session(python=PYTHON)
def live(session: nox.Session) -> None:
    """The integration tests against a real Open WebUI (OPENWEBUI_SERVER_URL, else the local stack).

    OPENWEBUI_STACK_REAL_MODEL=1 adds a real small model to the local stack (see stack/README.md).
    """
    install_project(session, "all,test,proxy,live,docs")  # docs: the snippet test's tools
    _install_edge(session)
    with _server(session) as env:
        session.run(
            "pytest",
            "--owui-mode=live",
            *INTEGRATION,
            *session.posargs,
            env=env,
        )  # pytest's exit 5 (no test ran) fails the session: a live run that ran nothing is red


# Agent frameworks that hand `openwebui/...` to LiteLLM, at the newest releases the index serves.
# CrewAI needs OpenAI's SDK below 3 and OpenTelemetry 1.45 or newer, which the Agents SDK
# (openai>=3) and Google ADK (opentelemetry-sdk<=1.44) exclude: it gets an install of its own.
FRAMEWORKS = {
    "crewai": ["crewai[litellm]"],
    "others": [
        "openai-agents[litellm]",
        "google-adk",
        "llama-index-core",
        "llama-index-llms-litellm",
        "langchain-litellm",
        "dspy",
    ],
}
# What each framework would send elsewhere (telemetry, traces), off; tests/frameworks fails a
# test whose process looks up a host beyond this machine.
FRAMEWORKS_QUIET = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "HF_HUB_OFFLINE": "1",
}


@nox.session(python=PYTHON)
@nox.parametrize("install", list(FRAMEWORKS))
def frameworks(session: nox.Session, install: str) -> None:
    """tests/frameworks: each framework as its docs show it, and docs/frameworks.md's snippets,
    against a real Open WebUI (OPENWEBUI_SERVER_URL, else the local stack). Not in `live`: these
    are heavy, and no extra of the package depends on them."""
    install_project(session, "litellm,test", "--upgrade", *FRAMEWORKS[install])
    session.run("uv", "pip", "list", "--python", session.virtualenv.location, silent=False)
    with _server(session) as env:
        session.run(
            "pytest",
            "--owui-mode=live",
            "-m",
            "frameworks",
            "tests/frameworks",
            *session.posargs,
            env={**env, **FRAMEWORKS_QUIET},
        )


@nox.session(python=PYTHON)
def record(session: nox.Session) -> None:
    """Re-record cassettes against the local stack, scrub them, and check they replay offline.

    `nox -s record -- tests/replay/test_litellm.py` records one module.
    """
    install_project(session)
    with _local_stack(session) as env:
        session.run("pytest", "--owui-mode=record", "-m", "vcr", *session.posargs, env=env)
    session.run("python", "tests/vcr_support.py", "cassettes")
    session.run("pytest", "-q", "--owui-mode=replay", "-m", "vcr", *session.posargs)
    session.run("pytest", "-q", "tests/test_cassette_secrets.py")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Every examples/*.py against the local stack (or OPENWEBUI_SERVER_URL when set)."""
    examples = sorted(ROOT.glob("examples/*.py"))
    if not examples:
        session.skip("no examples/*.py yet")
    install_project(session)
    failed = []
    with _server(session) as env:
        if "OPENWEBUI_DEMO_DISPLAY_NAME" in env:
            session.log(STUB_BANNER)
            env = {**env, "OPENWEBUI_DEMO_SCRIPTED": "1"}  # the examples label the stub's answers
        for example in examples:
            name = str(example.relative_to(ROOT))
            session.log(f"--- {name}")
            try:
                session.run("python", name, env=env)
            except nox.command.CommandFailed:
                failed.append(name)
    if failed:
        session.error(f"{len(failed)} of {len(examples)} examples failed: {', '.join(failed)}")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against the libraries' own OpenAI paths; writes benchmarks/RESULTS.md.

    `nox -s bench -- --quick` for a short run; see benchmarks/README.md.
    """
    install_project(session, "all,proxy")  # the Proxy section starts `litellm --config`
    session.install("langchain-openai>=1.0,<2", "openai>=1.0,<3")
    session.run("python", "benchmarks/run.py", *session.posargs)
