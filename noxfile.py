"""Development sessions: `nox -s tests lint typecheck` is what CI and the README run."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
# LiteLLM 1.106.3+ asks for a certifi release that the package index here does not serve.
CONSTRAINTS = ["litellm<1.106.3"]


def install_project(session: nox.Session, extras: str = "all,test") -> None:
    """Install the package with its extras, under the project's constraints."""
    constraints = session.create_tmp() + "/constraints.txt"
    with open(constraints, "w") as handle:
        handle.write("\n".join(CONSTRAINTS) + "\n")
    session.install("-c", constraints, "-e", f".[{extras}]")


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
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    install_project(session, "all,test,typecheck")
    session.run("mypy")
