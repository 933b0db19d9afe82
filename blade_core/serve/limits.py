"""What a server of ours accepts and where it may listen; plain Python, so the CLI's option
declarations use the same numbers without importing FastAPI."""

from __future__ import annotations

import errno
import ipaddress

from blade_core.errors import OptionError

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_MAX_BATCH = 32
"""Most prompts `blade serve` puts in one generate call."""
DEFAULT_BATCH_WAIT_MS = 5.0
"""How long `blade serve` lets a batch wait for more requests: a few ms against a generate call's
hundreds, so a lone request barely waits and concurrent ones share the call."""
DEFAULT_MAX_QUEUE = 256
KEEP_ALIVE_SECONDS = 120.0
"""Idle keep-alive connections close after this long: well past httpx's 5 s pool expiry, so the
server never closes a pooled connection under a client that is about to reuse it."""


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def exposure_warning(host: str, api_key: str | None) -> str | None:
    """What to warn about when the server answers beyond this machine, or None on loopback."""
    if is_loopback(host):
        return None
    unguarded = "" if api_key else "; without an API key anyone who can reach it can use the model"
    return f"serving on {host}, beyond this machine{unguarded}"


def bind_error(host: str, port: int, error: OSError) -> OptionError:
    """A failed bind as the option to change: the port in use, a privileged port, a foreign host."""
    if error.errno == errno.EADDRINUSE:
        return OptionError(f"--port {port}: the port is in use on {host}; choose another --port "
                           "(0 picks a free one)")
    if error.errno == errno.EACCES:
        return OptionError(f"--port {port}: binding it needs privileges; use a port above 1023")
    return OptionError(f"--host {host}: cannot listen there ({error.strerror or error}); use "
                       "127.0.0.1, or an address of this machine")
