"""The public surface of openwebui_adapters.langchain, and what importing it costs."""

from __future__ import annotations

import subprocess
import sys

import openwebui_adapters.langchain as adapter


def test_public_names_are_pinned() -> None:
    assert adapter.__all__ == ["ChatOpenWebUI", "OpenWebUIEmbeddings", "OpenWebUIRetriever"]


def test_importing_the_adapter_imports_no_other_framework() -> None:
    code = (
        "import sys, openwebui_adapters.langchain; "
        "print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'litellm', 'smolagents', 'langchain_openai', 'openai'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
