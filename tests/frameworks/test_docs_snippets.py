"""Every Python block of docs/frameworks.md runs as written, in a new process, against the server.

A block runs in the `frameworks` install that has its framework (CrewAI has one of its own: its
pins of OpenAI's SDK and OpenTelemetry exclude the Agents SDK's and ADK's). Name lookups beyond this
machine fail in the block's process and fail the block.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from frameworks_support import FILE_TEXT, MARKS

from openwebui_adapters import OpenWebUIClient

pytestmark = MARKS

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "frameworks.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SECTION = re.compile(r"^## (.+)$", re.MULTILINE)
# The framework a block is about: the first of these it imports.
FRAMEWORKS = (
    "crewai",
    "agents",
    "google.adk",
    "llama_index.llms.litellm",
    "langchain_litellm",
    "dspy",
)
# Run before a block: name lookups of public hosts fail, and make the process exit 3.
GUARD = """\
import atexit, os, runpy, socket, sys
from offline_guard import OfflineGuard
guard = OfflineGuard()
socket.getaddrinfo = guard.getaddrinfo
@atexit.register
def report():
    if guard.attempts:
        sys.stderr.write(f"the snippet tried to reach {sorted(set(guard.attempts))}\\n")
        sys.stderr.flush()
        os._exit(3)
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def blocks() -> list[Any]:
    """(section, framework, code) per Python block of the page, as pytest params."""
    text = PAGE.read_text()
    found = []
    for match in BLOCK.finditer(text):
        code = match.group(1)
        section = [s for s in SECTION.finditer(text) if s.start() < match.start()][-1].group(1)
        imported = re.findall(r"^(?:from|import) ([\w.]+)", code, re.MULTILINE)
        framework = next(f for f in FRAMEWORKS for m in imported if f"{m}.".startswith(f"{f}."))
        found.append(pytest.param(framework, code, id=section))
    return found


@pytest.fixture(scope="module")
def team_handbook(owui_target: Any) -> Iterator[None]:
    """The knowledge base the snippets name, holding one file."""
    client = OpenWebUIClient(owui_target.server_url, owui_target.api_key)
    uploaded = client.upload_file(FILE_TEXT.encode(), filename="handbook.txt")
    base = client.create_knowledge("Team handbook")
    client.add_file_to_knowledge(base, uploaded)
    yield
    client.delete_knowledge(base)
    client.delete_file(uploaded)


def test_the_page_has_a_block_per_framework() -> None:
    assert sorted({param.values[0] for param in blocks()}) == sorted(FRAMEWORKS)


@pytest.mark.parametrize(("framework", "code"), blocks())
def test_the_snippet_runs(
    framework: str, code: str, owui_settings: Any, team_handbook: None, tmp_path: Path
) -> None:
    if not installed(framework):
        pytest.skip(
            f"{framework} is not installed here (each `nox -s frameworks` install has some)"
        )
    snippet = tmp_path / "snippet.py"
    snippet.write_text(code)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "tests"),  # offline_guard
        "DSPY_CACHEDIR": str(tmp_path / "dspy-cache"),
    }
    run = subprocess.run(
        [sys.executable, "-c", GUARD, str(snippet)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip()
