"""Shared helpers for tests that reach a local OpenAI-compatible server over real HTTP: keep proxies
out of the way, point `openai:` specs at the server, and kill a trainer while the server holds its
call."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from blade_core.serve import OpenAICompatibleServer
from tests.fault_server import FaultInjectingServer

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def bypass_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy set for the internet must not capture 127.0.0.1."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def reach(server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch, api_key: str) -> dict[str, str]:
    """Point `openai:` specs at `server`, here and in child processes (whose env is returned)."""
    bypass_proxies(monkeypatch)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def kill_while_held(server: FaultInjectingServer, args: list[str], env: dict[str, str]) -> None:
    """Run `args`, SIGKILL it once the server holds one of its calls, then let the server go on.
    The server must have a "hold" fault pending."""
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while not server.held.wait(timeout=0.1):
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
    process.send_signal(signal.SIGKILL)
    process.wait()
    server.release()
