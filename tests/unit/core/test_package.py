"""The package surface: public names pinned, and the core imports no framework."""

from __future__ import annotations

import subprocess
import sys

import openwebui_adapters


def test_public_names_are_pinned() -> None:
    assert sorted(openwebui_adapters.__all__) == [
        "ConfigurationError",
        "ModelInfo",
        "ModelNotFoundError",
        "OpenWebUIClient",
        "OpenWebUIError",
        "Settings",
        "__version__",
        "errors",
    ]
    for name in openwebui_adapters.__all__:
        assert getattr(openwebui_adapters, name) is not None


def test_core_imports_no_framework() -> None:
    code = (
        "import sys, openwebui_adapters\n"
        "from openwebui_adapters import OpenWebUIClient, errors\n"
        "import openwebui_adapters.doctor, openwebui_adapters.cli\n"
        "print(sorted(m for m in ('litellm', 'langchain_core', 'smolagents', 'openai') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_module_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "openwebui_adapters", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "doctor" in done.stdout
