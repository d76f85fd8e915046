"""`openwebui-adapters doctor | models | chat`: check a setup, list models, try a chat."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
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
    chat.add_argument("--model", help="default: $OPENWEBUI_MODEL")
    chat.add_argument("--system", help="a system message")
    chat.add_argument("--stream", action="store_true", help="print the answer as it arrives")
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
    for result in doctor.run():
        print(format_result(result), flush=True)
        all_ok = all_ok and result.ok is True
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


def run_chat(args: argparse.Namespace) -> int:
    messages = [{"role": "system", "content": args.system}] if args.system else []
    messages.append({"role": "user", "content": args.prompt})
    payload = {"model": args.model or os.environ.get("OPENWEBUI_MODEL"), "messages": messages}
    client = _client(args)
    if args.stream:
        for chunk in client.stream_chat(payload):
            for choice in chunk.get("choices") or []:
                print((choice.get("delta") or {}).get("content") or "", end="", flush=True)
        print()
        return 0
    answer = client.chat(payload)
    print(answer["choices"][0]["message"].get("content") or "")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"doctor": run_doctor, "models": run_models, "chat": run_chat}
    try:
        return handlers[args.command](args)
    except OpenWebUIError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
