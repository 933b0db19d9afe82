"""Progress for long work: a bar on a terminal, a plain line now and then in a log.

tqdm redraws its bar with carriage returns; piped to a file, as a run on a server is, that is one
endless line of bars. Outside a terminal the same progress is written as ordinary lines, at most
one every `LOG_INTERVAL` seconds and the last, so a log says where a run is and how fast it goes.
In a notebook, tqdm's own widget is kept.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm import tqdm as plain_tqdm
from tqdm.auto import tqdm

LOG_INTERVAL = 30.0
LOG_FORMAT = "{desc}: {n_fmt}/{total_fmt} ({percentage:.0f}%), {elapsed} so far, {remaining} left{postfix}"
IN_A_NOTEBOOK = any(cls.__module__ == "tqdm.notebook" for cls in tqdm.__mro__)
"""tqdm.auto chose the notebook widget (it imports it with its warning silenced)."""


def on_a_terminal() -> bool:
    return sys.stderr.isatty()


class _Lines:
    """A stream for tqdm that ends each status it draws with a newline instead of redrawing it, and
    skips a status the same as the last (tqdm draws the final one again as it closes)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = ""

    def write(self, text: str) -> None:
        text = text.replace("\r", "").rstrip()
        if text and text != self.last:
            self.stream.write(text + "\n")
            self.last = text

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(iterable: Iterable[Any] | None = None, **options: Any) -> tqdm:
    """`tqdm(iterable, **options)` on stderr: a bar on a terminal or in a notebook, lines in a log."""
    if on_a_terminal() or IN_A_NOTEBOOK:
        return tqdm(iterable, **options)
    return plain_tqdm(iterable, file=_Lines(sys.stderr), mininterval=LOG_INTERVAL, bar_format=LOG_FORMAT,
                      **options)
