"""stack/edge.py without starting anything: templates, URLs, and why it will not install.

The proxies themselves are exercised by tests/live/edge/ (a real nginx and Caddy).
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from stack_scripts import load_stack_script

edge = load_stack_script("edge")


@pytest.mark.parametrize("proxy", ["nginx", "caddy"])
def test_a_template_with_a_value_missing_names_it(proxy: str) -> None:
    with pytest.raises(edge.StackError, match=r"edge config failed: .*@UPSTREAM@"):
        edge.fill(edge.TEMPLATES[proxy], {})


@pytest.mark.parametrize("proxy", ["nginx", "caddy"])
def test_every_shape_that_listens_has_its_port_in_the_template(proxy: str) -> None:
    text = edge.TEMPLATES[proxy].read_text()
    for shape in edge.LISTENING_SHAPES:
        assert f"@PORT_{shape.upper()}@" in text, shape


def test_wrong_scheme_urls_use_the_tls_and_plain_ports() -> None:
    ports = {shape: 40000 + index for index, shape in enumerate(edge.LISTENING_SHAPES)}
    urls = edge.shape_urls(ports)
    assert list(urls) == list(edge.SHAPES)
    assert urls["tls"] == f"https://127.0.0.1:{ports['tls']}"
    assert urls["tls_as_http"] == f"http://127.0.0.1:{ports['tls']}"
    assert urls["plain_as_https"] == f"https://127.0.0.1:{ports['plain']}"
    assert urls["subpath"] == f"http://127.0.0.1:{ports['subpath']}/webui"


def test_not_root_means_no_apt_get_and_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge, "binary", lambda name: None if name == "caddy" else f"/bin/{name}")
    monkeypatch.setattr(edge.os, "geteuid", lambda: 1000)

    def no_subprocess(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"ran {args}")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    reasons = edge.install(log=lambda message: None)
    assert list(reasons) == ["caddy"]
    assert "no `caddy` command" in reasons["caddy"]
    assert "not root" in reasons["caddy"]
