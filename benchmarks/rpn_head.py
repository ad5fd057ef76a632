"""Speed and peak memory of RPN heads against reference computations, and the matmul limit.

(The per-family rows, every expansion and reconciliation against its materialised
computation, are in ``benchmarks/rpn_families.py``.) Every *case* is one head configuration,
measured on one forward+backward step (a scalar loss ``mean(y²)``, gradients set to ``None``
before each step), with several *rows*: rpnkit's head and references computing the same
function with the same parameters.

* ``low_rank``: 784 -> 64, Taylor order 2 (D = 615 440), low-rank reconciliation r = 2.
  Reference: the naive computation (materialise ``κ(x)`` and ``W = A B``, then ``κ(x) Wᵀ``).
* ``mnist``: the first head of tinybig's published MNIST model
  (``docs/notes/configs/mnist_configs.yaml``): 784 -> 64, Taylor order 2 with a LayerNorm
  post-processing, identity reconciliation (the 64 × 615 440 weight is the parameter),
  zero remainder, batch 64. Reference: tinybig 0.2.1's own ``rpn_head`` from that config
  (when installed; ``tests/tinybig_reference.py``) with rpnkit's parameters copied in; the
  naive materialising computation is a further row.

Columns: the median step time over interleaved repeats (a plain ``n × n`` float32 matmul is
timed in the same rounds), the *fraction of the matmul limit* (the case's essential work,
``2 b R m (m+1)`` flops for the forward of an order-2 Taylor projection onto ``R`` rows and
as much for the weight gradient, at the measured matmul rate, over the row's time), the peak
memory of one step above what was allocated before it (``torch.cuda.max_memory_allocated``
on CUDA; on CPU ``torch.profiler``'s allocation events), plus the gradient storage rpnkit
keeps between steps, and speed and memory against the case's reference. On the CPU the times
are process CPU times with one thread (``--threads``). Before timing, each case checks rpnkit
against the naive computation in float64, and ``mnist`` checks tinybig's output against it.

A fresh gradient's first touch (page faults on Linux) can be a large part of a step; rpnkit
reuses its large gradients' storage (``rpnkit/rpn/gradient_buffer.py``), the references
allocate theirs anew. PyTorch's ``THP_MEM_ALLOC_ENABLE=1`` (transparent huge pages for large
CPU allocations) makes faults cheaper for every row; the ``rpnkit`` command sets it
(``rpnkit/cli/huge_pages.py``), so by default (``--allocator both``) every case is measured
twice, each in a fresh process: with torch's default allocator and with huge pages.

Run by hand::

    python benchmarks/rpn_head.py --device cpu
    python benchmarks/rpn_head.py --cases mnist --allocator huge-pages
    python benchmarks/rpn_head.py --device cuda --batch 1024
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile

from rpnkit.rpn import RPNHead
from rpnkit.rpn.gradient_buffer import held_bytes, release_gradient_buffers

sys.path.append(str(Path(__file__).resolve().parent))
from allocators import add_allocator_argument, rerun_per_allocator
from matmul_limit import MATMUL_SIZE, matmul_probe, synchronize

sys.path.append(str(Path(__file__).resolve().parents[1]))  # tests.tinybig_reference

M, N, RANK = 784, 64, 2

Forward = Callable[[nn.Module, Tensor], Tensor]


@dataclass
class Row:
    """One implementation of a case: a module, how to call it, and its input."""

    label: str
    module: nn.Module
    forward: Forward
    x: Tensor

    def step(self) -> None:
        """One training step's worth of work: gradients to ``None``, then :meth:`run`."""
        self.module.zero_grad(set_to_none=True)
        self.run()

    def run(self) -> None:
        """Forward, a scalar loss, backward."""
        self.forward(self.module, self.x).square().mean().backward()


@dataclass
class Case:
    """A head configuration: its rows, the reference row's label and its essential flops."""

    name: str
    title: str
    flops: float
    reference: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Builds the case's rpnkit head for the float64 check against the naive computation.
    make_head: Callable[[], RPNHead] | None = None


def taylor2_flops(batch: int, m: int, rows: int) -> float:
    """Flops of ``κ(x) Wᵀ`` for Taylor order 2 onto ``rows`` rows, forward + weight gradient."""
    return 2 * (2.0 * batch * rows * m * (m + 1))


# --------------------------------------------------------------------------------------------
# Cases


def naive_forward(head: nn.Module, x: Tensor) -> Tensor:
    """The head's function computed by materialising ``κ(x)`` (b × D) and ``W`` (n × D)."""
    assert isinstance(head, RPNHead)
    expanded = head.expansion(x)
    weight = head.reconciliation(head.w)
    out = (expanded @ weight.transpose(-1, -2)).mean(0) + head.remainder(x)
    return out if head.bias is None else out + head.bias


def head_forward(head: nn.Module, x: Tensor) -> Tensor:
    """The module's own forward."""
    return head(x)


def low_rank_head() -> RPNHead:
    """784 -> 64, Taylor order 2, low-rank r=2, no remainder."""
    return RPNHead(
        M, N, expansion="taylor", reconciliation={"name": "low_rank", "parameters": {"r": RANK}}
    )


def mnist_head() -> RPNHead:
    """tinybig's MNIST head: 784 -> 64, Taylor order 2 + layer_norm, identity reconciliation."""
    return RPNHead(M, N, expansion="taylor", reconciliation="identity", postprocess=["layer_norm"])


def tinybig_mnist_head(tinybig: Any, device: torch.device) -> nn.Module:
    """tinybig's own ``rpn_head`` from the first layer of its published MNIST config."""
    D = M + M * M
    return tinybig.module.rpn_head(
        m=M,
        n=N,
        channel_num=1,
        data_transformation_configs={
            "function_class": "tinybig.expansion.taylor_expansion",
            "function_parameters": {
                "name": "taylor_expansion",
                "d": 2,
                "postprocess_function_configs": [
                    {
                        "function_class": "torch.nn.LayerNorm",
                        "function_parameters": {"normalized_shape": D, "device": device.type},
                    }
                ],
            },
        },
        parameter_fabrication_configs={
            "function_class": "tinybig.reconciliation.identity_reconciliation",
            "function_parameters": {"name": "identity_reconciliation"},
        },
        remainder_configs={
            "function_class": "tinybig.remainder.zero_remainder",
            "function_parameters": {"name": "zero_remainder"},
        },
        device=device.type,
    )


def low_rank_case(device: torch.device, batch: int | None) -> Case:
    """rpnkit's low-rank Taylor head against the naive computation."""
    batch = batch or 128
    torch.manual_seed(0)
    head = low_rank_head().to(device)
    x = torch.randn(batch, M, device=device)
    flops = taylor2_flops(batch, M, RANK) + 3 * 2.0 * batch * N * RANK
    case = Case(
        "low_rank",
        f"{M} -> {N}, taylor d=2 (D={head.D}), low_rank r={RANK}, batch {batch}",
        flops,
        reference="naive",
        make_head=low_rank_head,
    )
    case.rows += [Row("rpnkit", head, head_forward, x), Row("naive", head, naive_forward, x)]
    return case


def mnist_case(device: torch.device, batch: int | None) -> Case:
    """tinybig's MNIST head: rpnkit, tinybig's own head (when installed) and the naive one."""
    from tests.tinybig_reference import import_tinybig

    batch = batch or 64
    torch.manual_seed(0)
    head = mnist_head().to(device)
    x = torch.randn(batch, M, device=device)
    case = Case(
        "mnist",
        f"tinybig MNIST head {M} -> {N}, taylor d=2 + layer_norm (D={head.D}), identity "
        f"reconciliation ({head.w.numel() / 1e6:.1f} M parameters), batch {batch}",
        taylor2_flops(batch, M, N),
        reference="naive",
        make_head=mnist_head,
    )
    case.rows.append(Row("rpnkit", head, head_forward, x))
    tinybig = import_tinybig()
    if tinybig is None:
        case.notes.append("tinybig is not installed: the reference is the naive computation")
    else:
        reference = tinybig_mnist_head(tinybig, device)
        with torch.no_grad():
            reference.w.copy_(head.w)
        output_error = _relative(reference(x), head(x))
        case.notes.append(f"tinybig vs rpnkit, float32 output: relative max-abs {output_error:.1e}")
        if output_error > 1e-3:
            raise SystemExit("tinybig's MNIST head and rpnkit's compute different functions")
        case.rows.append(Row("tinybig", reference, head_forward, x))
        case.reference = "tinybig"
    case.rows.append(Row("naive", head, naive_forward, x))
    return case


CASES: dict[str, Callable[[torch.device, int | None], Case]] = {
    "low_rank": low_rank_case,
    "mnist": mnist_case,
}


# --------------------------------------------------------------------------------------------
# Measurement


def interleaved_medians(
    steps: dict[str, Callable[[], None]],
    device: torch.device,
    clock: Callable[[], float],
    repeats: int,
    warmup: int,
) -> dict[str, float]:
    """Median seconds per step, the steps alternating in every round after ``warmup`` rounds."""
    times: dict[str, list[float]] = {key: [] for key in steps}
    for round_ in range(warmup + repeats):
        for key, step in steps.items():
            synchronize(device)
            start = clock()
            step()
            synchronize(device)
            if round_ >= warmup:
                times[key].append(clock() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def peak_memory(row: Row, device: torch.device) -> int:
    """Peak bytes allocated during one step above those allocated before it, plus the
    gradient storage rpnkit keeps between steps (:mod:`rpnkit.rpn.gradient_buffer`).

    The previous gradients are released before the measurement starts, so that their release
    does not offset the step's own allocations. The row runs once first, so that what it keeps
    between steps is in place, and counted, as in training.
    """
    release_gradient_buffers()
    row.step()
    row.module.zero_grad(set_to_none=True)
    kept = held_bytes()
    step = row.run
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before + kept
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    # Every allocation (+bytes) and free (-bytes) is an "[memory]" event; the peak is the
    # largest running total in time order. The kineto results hold them all, including
    # those made inside operators.
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU
    )
    running = peak = 0
    for _, nbytes in events:
        running += nbytes
        peak = max(peak, running)
    return peak + kept


def check_equal(make_head: Callable[[], RPNHead], device: torch.device, batch: int) -> None:
    """Compare the head with the naive computation in float64 (O(1) parameters); exit if off."""
    torch.manual_seed(0)
    head = make_head().to(device=device, dtype=torch.float64)
    with torch.no_grad():
        head.w.normal_()
    x = torch.randn(batch, head.m, device=device, dtype=torch.float64)
    fast = head(x)
    (fast_grad,) = torch.autograd.grad(fast.square().mean(), head.w)
    naive = naive_forward(head, x)
    (naive_grad,) = torch.autograd.grad(naive.square().mean(), head.w)
    errors = _relative(fast, naive), _relative(fast_grad, naive_grad)
    print(f"  float64 check vs naive: output {errors[0]:.1e}, gradient {errors[1]:.1e}")
    if max(errors) > 1e-8:
        raise SystemExit("the fast head and the naive computation disagree")


def _relative(value: Tensor, reference: Tensor) -> float:
    """``max |value - reference| / max |reference|``."""
    return ((value - reference).abs().max() / reference.abs().max()).item()


# --------------------------------------------------------------------------------------------
# Report

HEADER = (
    f"{'implementation':>15} {'step ms':>9} {'of limit':>9} {'peak MiB':>9} "
    f"{'speed-up':>9} {'memory':>8}"
)


def run_case(
    case: Case,
    device: torch.device,
    clock: Callable[[], float],
    repeats: int,
    warmup: int,
) -> None:
    """Time every row of a case with the matmul probe, then print the table."""
    probe, probe_flops = matmul_probe(device)
    steps: dict[str, Callable[[], None]] = {row.label: row.step for row in case.rows}
    steps["__matmul__"] = probe
    seconds = interleaved_medians(steps, device, clock, repeats, warmup)
    rate = probe_flops / seconds.pop("__matmul__")
    limit = case.flops / rate
    peaks = {row.label: peak_memory(row, device) for row in case.rows}
    for note in case.notes:
        print(f"  {note}")
    print(
        f"  matmul {MATMUL_SIZE}³ float32: {rate / 1e9:.1f} GFLOP/s; this case needs "
        f"{case.flops / 1e9:.2f} GFLOP per step, so its limit is {limit * 1e3:.1f} ms"
    )
    print(f"  {HEADER}")
    ref_s, ref_peak = seconds[case.reference], peaks[case.reference]
    for row in case.rows:
        s, peak = seconds[row.label], peaks[row.label]
        print(
            f"  {row.label:>15} {s * 1e3:9.1f} {limit / s:9.0%} {peak / 2**20:9.1f} "
            f"{ref_s / s:8.2f}x {peak / ref_peak:8.2f}"
        )
    print(f"  (speed-up and memory relative to {case.reference})")


def main() -> None:
    """Parse arguments, run the cases and print one table per case."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default: per case)")
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1)")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (default: 7)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds (default: 1)")
    add_allocator_argument(parser)
    args = parser.parse_args()
    if rerun_per_allocator(args.allocator, __file__):
        return
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    on_cpu_one_thread = device.type == "cpu" and args.threads == 1
    clock = time.process_time if on_cpu_one_thread else time.perf_counter
    print(
        f"{device.type}, float32, {args.threads} thread(s), "
        f"{'process CPU' if on_cpu_one_thread else 'wall'} time, "
        f"THP_MEM_ALLOC_ENABLE={os.environ['THP_MEM_ALLOC_ENABLE']}"
    )
    for name in args.cases:
        case = CASES[name](device, args.batch)
        print(f"\n[{case.name}] {case.title}")
        if case.make_head is not None:
            check_equal(case.make_head, device, batch=4)
        run_case(case, device, clock, args.repeats, args.warmup)
    print(flush=True)


if __name__ == "__main__":
    main()
