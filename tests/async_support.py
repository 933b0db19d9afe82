"""Proof that an async call leaves the event loop free while the domain LM generates.

Counting heartbeat ticks during a generation is a race: a 48-token generation on an idle machine
can end before the loop ticks three times. Here the generation waits until the loop has run a step,
which it can do only when the generation runs on another thread; on the loop's own thread it would
wait in vain and fail the call.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from blade_core.writers.domain_lm import DomainLM


class LoopWatch:
    def __init__(self, lm: DomainLM, monkeypatch: pytest.MonkeyPatch, timeout: float = 10.0) -> None:
        self.generating = threading.Event()
        self.loop_ran = threading.Event()
        original = lm.generate_knowledge

        def waiting(*args: Any, **kwargs: Any) -> list[str]:
            self.generating.set()
            if not self.loop_ran.wait(timeout):
                raise AssertionError("the event loop did not run while the model generated")
            return original(*args, **kwargs)

        monkeypatch.setattr(lm, "generate_knowledge", waiting)

    async def heartbeat(self) -> None:
        """Run as a task beside the call under test."""
        while not self.loop_ran.is_set():
            await asyncio.sleep(0.005)
            if self.generating.is_set():
                self.loop_ran.set()
