"""The measured matmul rate that the RPN benchmarks compare their heads against.

A head's *fraction of the matmul limit* is its essential floating-point work divided by what
a plain ``n × n`` float32 matmul achieves in the same time on the same device: 100% would mean
the head runs at the plain-matmul rate. The rate is measured in the same run as the heads, so
load on a shared machine falls on both.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

__all__ = ["MATMUL_SIZE", "matmul_probe", "matmul_rate", "synchronize"]

#: Side of the square float32 matmul that measures the rate.
MATMUL_SIZE = 1024


def synchronize(device: torch.device) -> None:
    """Wait for queued device work (timing only)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_probe(device: torch.device, size: int = MATMUL_SIZE) -> tuple[Callable[[], None], float]:
    """A plain ``size × size`` float32 matmul and its flop count, to measure the matmul rate."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    return (lambda: torch.mm(a, b)), 2.0 * size**3


def matmul_rate(device: torch.device, repeats: int = 5, size: int = MATMUL_SIZE) -> float:
    """Floating-point operations per second of the probe: the median of ``repeats`` runs."""
    probe, flops = matmul_probe(device, size)
    probe()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        probe()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return flops / statistics.median(times)
