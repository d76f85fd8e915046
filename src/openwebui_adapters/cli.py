"""`openwebui-adapters doctor | models | chat`: check a setup, list models, try a chat.

Behaves as a Unix tool: results on stdout (`--json` for scripts), notes and errors on stderr,
and a reader that goes away (`... | head`) ends it quietly with status 141, as for `cat`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from . import __version__
from .errors import OpenWebUIError

__all__ = [
    "build_parser",
    "main",
    "run_chat",
    "run_doctor",
    "run_models",
]


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server-url", help="default: $OPENWEBUI_SERVER_URL")
    parser.add_argument(
        "--api-key",
        help="default: $OPENWEBUI_API_KEY (prefer the variable: flags end up in shell history)",
    )
    parser.add_argument("--timeout", type=float, help="read timeout in seconds")
    parser.add_argument("--connect-timeout", type=float, help="connect timeout in seconds")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--ca-bundle", help="CA bundle to verify the server's certificate")
    tls.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")


def _verify(args: argparse.Namespace) -> bool | str | None:
    if args.insecure:
        return False
    ca_bundle: str | None = args.ca_bundle
    return ca_bundle


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openwebui-adapters", description="Reach the models behind an Open WebUI server."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    doctor = commands.add_parser("doctor", help="check every layer and say what to fix")
    doctor.add_argument("--model", help="the model to check (default: $OPENWEBUI_MODEL)")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    _connection_options(doctor)

    models = commands.add_parser("models", help="list the models this key may use")
    models.add_argument(
        "--refresh", action="store_true", help="ask the server to re-read its backends"
    )
    models.add_argument("--json", action="store_true", help="print JSON")
    models.add_argument(
        "--no-details",
        action="store_true",
        help="skip asking Ollama about each of its models (/ollama/api/show): one request only",
    )
    _connection_options(models)

    chat = commands.add_parser("chat", help="send one prompt")
    chat.add_argument("prompt")
    chat.add_argument(
        "--model", help="default: $OPENWEBUI_MODEL, else the model the doctor would pick"
    )
    chat.add_argument("--system", help="a system message")
    chat.add_argument("--stream", action="store_true", help="print the answer as it arrives")
    chat.add_argument(
        "--json", action="store_true", help="print the server's answer (streamed: a chunk a line)"
    )
    _connection_options(chat)
    return parser


def _client(args: argparse.Namespace) -> Any:
    from ._client import OpenWebUIClient

    return OpenWebUIClient(
        args.server_url,
        args.api_key,
        timeout=args.timeout,
        connect_timeout=args.connect_timeout,
        verify=_verify(args),
    )


def run_doctor(args: argparse.Namespace) -> int:
    from .doctor import Doctor, format_result

    doctor = Doctor(
        args.server_url,
        args.api_key,
        model=args.model or os.environ.get("OPENWEBUI_MODEL"),
        timeout=args.timeout,
        connect_timeout=args.connect_timeout,
        verify=_verify(args),
    )
    all_ok = True
    checks = []
    for result in doctor.run():
        if args.json:
            checks.append(dataclasses.asdict(result))
        else:
            print(format_result(result), flush=True)
        all_ok = all_ok and result.ok is True
    if args.json:
        print(json.dumps({"ok": all_ok, "checks": checks}, indent=2))
    else:
        print("all checks passed" if all_ok else "doctor found a problem: see the FAIL line above")
    return 0 if all_ok else 1


def _capability_list(facts: Any) -> str:
    """`chat,tools,vision`: what the server says the model can do (`--json` has the noes)."""
    known = facts.capabilities.known()
    return ",".join(name for name, value in known.items() if value) or ("none" if known else "?")


def run_models(args: argparse.Namespace) -> int:
    client = _client(args)
    facts = client.all_model_facts(details=not args.no_details, refresh=args.refresh)
    if args.json:
        print(json.dumps([f.to_dict() for f in facts], indent=2))
        return 0
    header = ("id", "backend", "context", "name", "capabilities")
    rows = [
        (f.id, f.backend, str(f.context_length or "?"), f.name, _capability_list(f)) for f in facts
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for *cells, last in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + last)
    return 0


def _chat_model(args: argparse.Namespace, client: Any) -> str:
    """--model, else $OPENWEBUI_MODEL, else the doctor's choice (said on stderr)."""
    model = args.model or os.environ.get("OPENWEBUI_MODEL")
    if model:
        return str(model)
    from .doctor import default_model, no_model_note

    chosen = default_model(client.list_models()).id
    print(f"note: {no_model_note(chosen)}", file=sys.stderr)
    return chosen


def run_chat(args: argparse.Namespace) -> int:
    messages = [{"role": "system", "content": args.system}] if args.system else []
    messages.append({"role": "user", "content": args.prompt})
    client = _client(args)
    payload = {"model": _chat_model(args, client), "messages": messages}
    if args.stream:
        for chunk in client.stream_answer(payload):
            if args.json:
                print(json.dumps(dict(chunk.raw)), flush=True)  # the server's chunk, as sent
            else:
                print(chunk.content, end="", flush=True)
        if not args.json:
            print()
        return 0
    answer = client.answer(payload)
    print(json.dumps(dict(answer.raw), indent=2) if args.json else answer.content or "")
    return 0


# What a shell reports for a program ended by SIGPIPE (128 + 13), as `cat` is by `cat | head`.
CLOSED_PIPE_STATUS = 128 + getattr(signal, "SIGPIPE", 13)


def _closed_pipe() -> int:
    """stdout's reader has gone: nothing more can be said there, nor should be on stderr.

    Python's signal docs (Note on SIGPIPE) and Click do this: stdout is pointed at /dev/null so
    the flush at exit cannot fail again. The status is the shell's for a tool killed by SIGPIPE
    (Click's is 1); SIGPIPE itself stays ignored, so a closed socket remains an error, not death.
    """
    try:
        stdout = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's capture): nothing to do
        return CLOSED_PIPE_STATUS
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stdout)
    os.close(devnull)
    return CLOSED_PIPE_STATUS


@contextlib.contextmanager
def _notes_on_stderr() -> Iterator[None]:
    """The package's warnings (a session token, a URL it walked up) as `note:` lines."""
    logger = logging.getLogger(__package__)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("note: %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"doctor": run_doctor, "models": run_models, "chat": run_chat}
    try:
        with _notes_on_stderr():
            status = handlers[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's flush at exit
        return status
    except BrokenPipeError:
        return _closed_pipe()
    except OpenWebUIError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
