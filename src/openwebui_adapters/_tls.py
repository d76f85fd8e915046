"""Which certificates a server is verified against: one `ssl.SSLContext` per trust source.

`verify` is `True` (certifi, httpx's own bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set),
`False`, the path of a CA bundle or directory, `"system"` (the operating system's store through
the optional `truststore` package, for corporate CAs), or an `ssl.SSLContext` used as given. The
context is built here, not by httpx, so a path raises no deprecation warning, and the doctor
checks TLS with the very context the calls use. Contexts are cached: loading a CA bundle costs
about 0.8 MiB, and every pool with the same trust shares one.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import ssl
from typing import TypeAlias

import certifi  # httpx's own dependency and default bundle

from .errors import VERIFY, ConfigurationError

Verify: TypeAlias = "bool | str | ssl.SSLContext"
SYSTEM = "system"
VERIFY_ENV = "OPENWEBUI_VERIFY"
CERT_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")  # honoured when verify is True, as OpenSSL does

__all__ = ["CERT_ENV", "SYSTEM", "VERIFY_ENV", "Verify", "check_verify", "ssl_context"]


def check_verify(verify: Verify, setting: str = VERIFY) -> None:
    """Refuse a `verify` that cannot work, naming `setting`, before anything is sent."""
    if isinstance(verify, (bool, ssl.SSLContext)):
        return
    if verify == SYSTEM:
        if importlib.util.find_spec("truststore") is None:
            raise ConfigurationError(
                f"{setting}={SYSTEM!r} uses the operating system's trust store, which needs the "
                "truststore package",
                setting=setting,
                hint="pip install truststore, or set it to the path of a CA bundle",
            )
        return
    if not os.path.exists(verify):
        raise ConfigurationError(
            f"The CA bundle {verify!r} ({setting}) does not exist",
            setting=setting,
            hint=f"set {setting} to a CA bundle file or directory, or to {SYSTEM!r} for the "
            "operating system's trust store",
        )


def ssl_context(
    verify: Verify, cert_env: tuple[tuple[str, str], ...] = ()
) -> tuple[ssl.SSLContext, str]:
    """The context for `verify` and a description of its trust source (for the doctor).

    `cert_env` holds the `SSL_CERT_FILE` / `SSL_CERT_DIR` values read with the settings.
    """
    if isinstance(verify, ssl.SSLContext):
        return verify, "a custom ssl.SSLContext"
    return _cached_context(verify, cert_env)


@functools.lru_cache(maxsize=16)
def _cached_context(
    verify: bool | str, cert_env: tuple[tuple[str, str], ...]
) -> tuple[ssl.SSLContext, str]:
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context, "nothing (verify=False: certificates are NOT verified)"
    if verify is True:
        env = dict(cert_env)
        if env:
            cafile, capath = env.get("SSL_CERT_FILE"), env.get("SSL_CERT_DIR")
            described = ", ".join(f"{name}={value}" for name, value in cert_env)
            return ssl.create_default_context(cafile=cafile, capath=capath), described
        return ssl.create_default_context(cafile=certifi.where()), "certifi"
    if verify == SYSTEM:
        try:
            import truststore
        except ImportError as exc:  # Settings built without `resolve` skipped check_verify
            raise ConfigurationError(
                "verify='system' needs the truststore package",
                setting=VERIFY,
                hint="pip install truststore",
            ) from exc
        context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return context, "the system trust store (truststore)"
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify), f"the CA directory {verify}"
    return ssl.create_default_context(cafile=verify), f"the CA bundle {verify}"
