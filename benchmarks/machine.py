"""What a benchmark says about the machine it ran on, and whether it had the cores to itself."""

from __future__ import annotations

import os
import platform
import time
from datetime import date
from typing import Any

import torch


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"date": date.today().isoformat(), "cpu": cpu, "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


class CpuShare:
    """This process's CPU time over (wall time x torch threads) since creation: near 1 when the
    benchmark had its cores to itself, lower when other work on the machine slowed it down."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __call__(self) -> float:
        wall = time.perf_counter() - self.wall
        return round((time.process_time() - self.cpu) / (wall * torch.get_num_threads()), 2)
