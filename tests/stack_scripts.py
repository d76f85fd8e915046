"""The scripts in stack/ (run.py, upstream.py, edge.py) as modules, each loaded once.

They are scripts beside the package, not part of it; `openwebui_stack_<name>` is the name nox and
the scripts themselves use too, so every loader shares one copy (and one stack configuration).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

STACK = Path(__file__).resolve().parents[1] / "stack"


def load_stack_script(name: str) -> ModuleType:
    """stack/<name>.py, imported from its path once."""
    module_name = f"openwebui_stack_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, STACK / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]
