"""Every Python block of README.md, docs/ and the docstrings the API reference shows runs as
written against a real Open WebUI (`nox -s live`; docs/development.md says why this way).

pytest-examples finds the blocks and lints them with ruff (a name used but never imported is
caught before anything runs). Each block then runs twice, in an empty directory, with only
OPENWEBUI_SERVER_URL and OPENWEBUI_API_KEY set, as a reader would run it twice: a snippet that
breaks, names a model the demo server lacks, or trips over its own first run (a second knowledge
base of one name) fails here, its traceback pointing at the Markdown line. A block fenced as
```{.python .fragment}``` is part of a larger program by intent: it is compiled, not run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openwebui_adapters import OpenWebUIClient

find = pytest.importorskip(
    "pytest_examples.find_examples",
    reason="the docs' tools are not installed: pip install -e '.[docs]' (nox -s live does)",
)

ROOT = Path(__file__).resolve().parents[2]
# The order a reader meets them in: the README, the pages, then the docstrings of the API
# reference (the knowledge page makes the "Team handbook" that later blocks search). The
# frameworks page needs the frameworks: `nox -s frameworks` runs its blocks.
FRAMEWORKS_PAGE = ROOT / "docs" / "frameworks.md"
SOURCES = [
    ROOT / "README.md",
    *sorted(page for page in (ROOT / "docs").rglob("*.md") if page != FRAMEWORKS_PAGE),
    *sorted((ROOT / "src").rglob("*.py")),
]
EXAMPLES = [example for source in SOURCES for example in find.find_examples(source)]
FRAGMENT = "fragment"
# A reader's environment has the two settings of the README, nothing else the suite may set.
READER_UNSET = ("OPENWEBUI_MODEL", "OPENWEBUI_API_KEY_HEADER", "OPENWEBUI_VERIFY")

pytestmark = pytest.mark.live


@pytest.fixture(scope="module", autouse=True)
def _server_left_as_found(owui_target: Any) -> Iterator[None]:
    """The knowledge bases the snippets make are deleted after them (other tests list bases)."""
    client = OpenWebUIClient(owui_target.server_url, owui_target.api_key)
    before = {base.id for base in client.list_knowledge()}
    yield
    for base in client.list_knowledge():
        if base.id not in before:
            client.delete_knowledge(base)
    client.close()


def run(example: Any) -> None:
    """The block as a `__main__` module whose lines are the Markdown file's own.

    pytest-examples' runner rewrites a failure's traceback with hand-made code objects that
    Python 3.11's traceback printing rejects (pytest then stops with INTERNALERROR); compiled
    under the file's name at its own line numbers, the block needs no rewriting.
    """
    padded = "\n" * example.start_line + example.source
    code = compile(padded, str(example.path), "exec", dont_inherit=True)
    exec(code, {"__name__": "__main__", "__file__": str(example.path)})


def test_the_docs_have_examples_to_run() -> None:
    runnable = [e for e in EXAMPLES if FRAGMENT not in e.prefix_tags()]
    assert len(runnable) >= 30
    assert {e.path.name for e in runnable} >= {"README.md", "litellm.md", "knowledge.md"}
    assert any(FRAGMENT in e.prefix_tags() for e in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_example(
    example: Any,
    eval_example: Any,
    owui_settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if FRAGMENT in example.prefix_tags():
        compile(example.source, str(example.path), "exec")  # part of a larger program
        return
    eval_example.set_config(line_length=100, ruff_ignore=["E501"])
    eval_example.lint_ruff(example)
    monkeypatch.chdir(tmp_path)
    for name in READER_UNSET:
        monkeypatch.delenv(name, raising=False)
    for _ in range(2):  # a reader runs a snippet again: it must not trip over its first run
        run(example)
