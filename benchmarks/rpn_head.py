"""Speed and peak memory of a Taylor/low-rank RPN head against the naive computation.

The head maps 784 features to 64 with a Taylor expansion of order 2 (D = 784 + 784² =
615 440) and a low-rank reconciliation of rank 2. rpnkit's head never forms the ``b × D``
expansion nor the ``n × D`` weight (``κ(x) Bᵀ`` is computed from ``x`` directly, then
multiplied by ``Aᵀ``). The reference is the naive computation of the same function with the
same parameters, as tinybig does it: materialise ``κ(x)`` and ``W = A B``, then ``κ(x) Wᵀ``.

Both are measured in the same run on one forward+backward step: the median step time over
repeats, and the peak memory allocated during the step above what was allocated before it
(``torch.cuda.max_memory_allocated`` on CUDA; on CPU the allocation events recorded by
``torch.profiler`` with ``profile_memory=True``). Outputs and gradients are compared in
float64 first.

Then one row per reconciliation family (:data:`RECONCILIATIONS`), on a smaller Taylor head
(``--rows-m`` features, 64 outputs, a linear remainder): the head's own forward against the same
head with the weight ``ψ(w)`` formed and passed to the expansion's projection, so only the
reconciliation side differs. Factored reconciliations (constant, duplicated padding, random
matrix adaption) should be faster and lighter; the others form their weight either way and
should tie.

Run by hand::

    python benchmarks/rpn_head.py --device cpu
    python benchmarks/rpn_head.py --device cuda --batch 1024
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.profiler import ProfilerActivity, profile

from rpnkit.rpn import RPNHead

M, N, RANK = 784, 64, 2

#: (label, reconciliation spec) of the per-reconciliation rows; the head maps --rows-m to N.
RECONCILIATIONS: tuple[tuple[str, Any], ...] = (
    ("constant", {"name": "constant", "parameters": {"c": 0.5}}),
    ("constant_eye", "constant_eye"),
    ("masking", "masking"),
    ("duplicated_padding p=q=2", {"name": "duplicated_padding", "parameters": {"p": 2}}),
    ("duplicated_diagonal_padding p=q=n",
     {"name": "duplicated_diagonal_padding", "parameters": {"p": N, "q": N}}),
    ("random_matrix_adaption r=2", "random_matrix_adaption"),
    ("random_matrix_hypernet", "random_matrix_hypernet"),
)  # fmt: skip


def make_head() -> RPNHead:
    """The benchmarked head: 784 -> 64, Taylor order 2, low-rank r=2, no remainder."""
    return RPNHead(
        M, N, expansion="taylor", reconciliation={"name": "low_rank", "parameters": {"r": RANK}}
    )


def fast_forward(head: RPNHead, x: Tensor) -> Tensor:
    """The head's own forward."""
    return head(x)


def naive_forward(head: RPNHead, x: Tensor) -> Tensor:
    """The head's function computed by materialising ``κ(x)`` (b × D) and ``W`` (n × D)."""
    expanded = head.expansion(x)
    weight = head.reconciliation(head.w)
    return (expanded @ weight.transpose(-1, -2)).mean(0) + head.remainder(x)


def formed_forward(head: RPNHead, x: Tensor) -> Tensor:
    """The head's function with the weight ``ψ(w)`` formed (the expansion's projection kept)."""
    weight = head.reconciliation(head.w).mean(0)
    out = head.expansion.project(x, weight)
    if head.bias is not None:
        out = out + head.bias
    return out + head.remainder(x)


def make_row_head(m: int, reconciliation: Any) -> RPNHead:
    """A head of one reconciliation row: ``m -> N``, Taylor order 2, linear remainder."""
    return RPNHead(m, N, expansion="taylor", reconciliation=reconciliation, remainder="linear")


def step(forward: Callable[[RPNHead, Tensor], Tensor], head: RPNHead, x: Tensor) -> None:
    """One training step's worth of work: forward, a scalar loss, backward."""
    head.zero_grad(set_to_none=True)
    forward(head, x).square().mean().backward()


def synchronize(device: torch.device) -> None:
    """Wait for queued device work (timing only)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_time(
    forward: Callable[[RPNHead, Tensor], Tensor],
    head: RPNHead,
    x: Tensor,
    repeats: int,
    warmup: int,
) -> float:
    """Median wall time in seconds of :func:`step` over ``repeats`` runs after ``warmup``."""
    for _ in range(warmup):
        step(forward, head, x)
    times = []
    for _ in range(repeats):
        synchronize(x.device)
        start = time.perf_counter()
        step(forward, head, x)
        synchronize(x.device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_median_times(
    forwards: tuple[Callable[[RPNHead, Tensor], Tensor], ...],
    head: RPNHead,
    x: Tensor,
    repeats: int,
    warmup: int,
) -> list[float]:
    """Median step times of several forwards timed in turn, so that load on a shared machine
    falls on all of them alike."""
    for _ in range(warmup):
        for forward in forwards:
            step(forward, head, x)
    times: list[list[float]] = [[] for _ in forwards]
    for _ in range(repeats):
        for forward, record in zip(forwards, times, strict=True):
            synchronize(x.device)
            start = time.perf_counter()
            step(forward, head, x)
            synchronize(x.device)
            record.append(time.perf_counter() - start)
    return [statistics.median(record) for record in times]


def peak_memory(forward: Callable[[RPNHead, Tensor], Tensor], head: RPNHead, x: Tensor) -> int:
    """Peak bytes allocated during one :func:`step` above those allocated before it."""
    head.zero_grad(set_to_none=True)
    if x.device.type == "cuda":
        synchronize(x.device)
        torch.cuda.reset_peak_memory_stats(x.device)
        before = torch.cuda.memory_allocated(x.device)
        step(forward, head, x)
        synchronize(x.device)
        return torch.cuda.max_memory_allocated(x.device) - before
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step(forward, head, x)
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
    return peak


def check_equal(
    device: torch.device,
    batch: int,
    head_factory: Callable[[], RPNHead] = make_head,
    reference: Callable[[RPNHead, Tensor], Tensor] = naive_forward,
) -> tuple[float, float]:
    """Relative differences (max-abs) of outputs and gradients, float64, O(1) parameters.

    The gradient is taken with respect to every non-empty parameter of the head.
    """
    torch.manual_seed(0)
    head = head_factory().to(device=device, dtype=torch.float64)
    with torch.no_grad():
        head.w.normal_()
    x = torch.randn(batch, head.m, device=device, dtype=torch.float64)
    parameters = [p for p in head.parameters() if p.numel()]
    fast = head(x)
    fast_grads = torch.autograd.grad(fast.square().mean(), parameters)
    naive = reference(head, x)
    naive_grads = torch.autograd.grad(naive.square().mean(), parameters)
    grad_error = max(_relative(f, r) for f, r in zip(fast_grads, naive_grads, strict=True))
    return _relative(fast, naive), grad_error


def _relative(value: Tensor, reference: Tensor) -> float:
    """``max |value - reference| / max |reference|``."""
    scale = reference.abs().max().clamp_min(torch.finfo(reference.dtype).tiny)
    return ((value - reference).abs().max() / scale).item()


def reconciliation_rows(device: torch.device, args: argparse.Namespace) -> None:
    """Time and peak memory of every :data:`RECONCILIATIONS` row, head against formed weight."""
    print(
        f"\nreconciliations: head {args.rows_m} -> {N}, taylor d=2 "
        f"(D={args.rows_m + args.rows_m**2}), linear remainder, batch {args.batch}, float32; "
        "the head against the same head with ψ(w) formed, timed in turn"
    )
    print(
        f"{'reconciliation':>36} {'l':>9} {'head ms':>9} {'formed ms':>9} {'speed-up':>8} "
        f"{'head MiB':>9} {'formed MiB':>10} {'memory':>7}"
    )
    for label, spec in RECONCILIATIONS:

        def factory(spec: Any = spec) -> RPNHead:
            return make_row_head(args.rows_m, spec)

        output_error, grad_error = check_equal(device, 8, factory, formed_forward)
        if max(output_error, grad_error) > 1e-5:
            raise SystemExit(f"{label}: the head and the formed weight disagree")
        torch.manual_seed(0)
        head = factory().to(device)
        x = torch.randn(args.batch, args.rows_m, device=device)
        fast_s, formed_s = paired_median_times(
            (fast_forward, formed_forward), head, x, args.repeats, args.warmup
        )
        fast_peak = peak_memory(fast_forward, head, x)
        formed_peak = peak_memory(formed_forward, head, x)
        print(
            f"{label:>36} {head.reconciliation.l:>9} {fast_s * 1e3:>9.2f} {formed_s * 1e3:>9.2f} "
            f"{formed_s / fast_s:>7.2f}x {fast_peak / 2**20:>9.2f} {formed_peak / 2**20:>10.2f} "
            f"{fast_peak / max(formed_peak, 1):>7.2f}"
        )


def main() -> None:
    """Parse arguments, run the comparison and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default: 128)")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps (default: 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (default: 2)")
    parser.add_argument(
        "--rows-m",
        type=int,
        default=256,
        help="input size of the reconciliation rows (256); m + m² must be a multiple of 64",
    )
    parser.add_argument(
        "--only-rows", action="store_true", help="skip the 784 -> 64 low-rank comparison"
    )
    args = parser.parse_args()
    device = torch.device(args.device)

    if not args.only_rows:
        low_rank_comparison(device, args)
    reconciliation_rows(device, args)


def low_rank_comparison(device: torch.device, args: argparse.Namespace) -> None:
    """The 784 -> 64 Taylor/low-rank head against the naive computation."""
    output_error, grad_error = check_equal(device, batch=16)
    print(
        f"float64 check, relative max-abs difference: output {output_error:.2e}, "
        f"gradient {grad_error:.2e}"
    )
    if max(output_error, grad_error) > 1e-5:
        raise SystemExit("the fast head and the naive computation disagree")

    torch.manual_seed(0)
    head = make_head().to(device)
    x = torch.randn(args.batch, M, device=device)
    print(
        f"head {M} -> {N}, taylor d=2 (D={head.D}), low_rank r={RANK}, batch {args.batch}, "
        f"{device.type}, float32"
    )
    results = {}
    for label, forward in (("rpnkit", fast_forward), ("naive", naive_forward)):
        seconds = median_time(forward, head, x, args.repeats, args.warmup)
        peak = peak_memory(forward, head, x)
        results[label] = (seconds, peak)
        print(f"{label:>7}: step {seconds * 1e3:9.2f} ms   peak {peak / 2**20:9.2f} MiB")
    (fast_s, fast_peak), (naive_s, naive_peak) = results["rpnkit"], results["naive"]
    print(
        f"speed-up {naive_s / fast_s:.1f}x (target >= 3x); "
        f"peak memory ratio 1/{naive_peak / fast_peak:.0f} (target <= 1/5)"
    )


if __name__ == "__main__":
    main()
