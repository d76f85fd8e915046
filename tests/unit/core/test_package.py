"""The package surface: public names pinned, and the core imports no framework."""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import subprocess
import sys

import openwebui_adapters

PUBLIC_NAMES = {
    # name: the internal module that defines it (the top re-exports it, typed results included)
    "Capabilities": "_model_facts",
    "ChatAnswer": "_replies",
    "Choice": "_replies",
    "Citation": "_replies",
    "ConfigurationError": "errors",
    "EmbeddingAnswer": "_replies",
    "KnowledgeBase": "_knowledge._records",
    "ModelFacts": "_model_facts",
    "ModelInfo": "_catalog",
    "ModelNotFoundError": "errors",
    "OpenWebUIClient": "_client",
    "OpenWebUIError": "errors",
    "Settings": "_settings",
    "StreamChunk": "_replies",
    "ToolCall": "_replies",
    "ToolCallDelta": "_replies",
    "UploadedFile": "_knowledge._records",
    "Usage": "_replies",
}
PUBLIC_MODULES = {
    "openwebui_adapters.cli",
    "openwebui_adapters.doctor",
    "openwebui_adapters.errors",
    "openwebui_adapters.langchain",
    "openwebui_adapters.langchain.chat_models",
    "openwebui_adapters.langchain.embeddings",
    "openwebui_adapters.langchain.retrievers",
    "openwebui_adapters.litellm",
    "openwebui_adapters.litellm.proxy",
    "openwebui_adapters.smolagents",
}


def test_public_names_are_pinned_and_are_the_defining_modules_objects() -> None:
    assert sorted(openwebui_adapters.__all__) == sorted([*PUBLIC_NAMES, "__version__", "errors"])
    for name, module in PUBLIC_NAMES.items():
        defined = getattr(importlib.import_module(f"openwebui_adapters.{module}"), name)
        assert getattr(openwebui_adapters, name) is defined, name
        assert defined.__doc__, f"{name} says what it is"
    assert openwebui_adapters.errors is importlib.import_module("openwebui_adapters.errors")


def test_every_other_module_is_private() -> None:
    found = {
        info.name
        for info in pkgutil.walk_packages(openwebui_adapters.__path__, "openwebui_adapters.")
        if not any(part.startswith("_") for part in info.name.split("."))
    }
    assert found == PUBLIC_MODULES


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


def test_version_flag_prints_the_installed_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "openwebui_adapters", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["openwebui-adapters", openwebui_adapters.__version__]
    assert importlib.metadata.version("openwebui-adapters") == openwebui_adapters.__version__


def test_the_licence_ships_with_the_distribution() -> None:
    files = importlib.metadata.distribution("openwebui-adapters").files or []
    licences = [f for f in files if f.name == "LICENSE"]
    assert licences, "LICENSE is not in the installed distribution's metadata"
    assert "MIT License" in licences[0].read_text()
    assert importlib.metadata.metadata("openwebui-adapters")["License-Expression"] == "MIT"


def test_every_module_says_what_it_exports() -> None:
    skipped = {"openwebui_adapters.__main__"}  # runs the command line when imported
    for info in pkgutil.walk_packages(openwebui_adapters.__path__, "openwebui_adapters."):
        if info.name in skipped:
            continue
        module = importlib.import_module(info.name)
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{info.name} has no __all__"
        missing = [name for name in exported if not hasattr(module, name)]
        assert not missing, f"{info.name}.__all__ names what it lacks: {missing}"
