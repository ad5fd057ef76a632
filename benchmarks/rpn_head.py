"""Speed and peak memory of RPN heads against the naive computation, one row per expansion.

The headline row maps 784 features to 64 with a Taylor expansion of order 2 (D = 784 + 784² =
615 440) and a low-rank reconciliation of rank 2. rpnkit's head never forms the ``b × D``
expansion nor the ``n × D`` weight (``κ(x) Bᵀ`` is computed from ``x`` directly, then
multiplied by ``Aᵀ``). The reference is the naive computation of the same function with the
same parameters, as tinybig does it: materialise ``κ(x)`` and ``W = A B``, then ``κ(x) Wᵀ``.

The other rows (:data:`CASES`) run the same comparison for other expansions, each in a
low-rank head ``m -> 64`` of rank 2: the head's own ``project`` (a composite hands it to its
parts, a linear expansion folds its matrix into the weight) against the materialised product.
A row's rpnkit time must not exceed the naive one.

Both are measured in the same run on one forward+backward step: the median step time over
repeats, and the peak memory allocated during the step above what was allocated before it
(``torch.cuda.max_memory_allocated`` on CUDA; on CPU the allocation events recorded by
``torch.profiler`` with ``profile_memory=True``). Outputs and gradients are compared in
float64 first.

Run by hand::

    python benchmarks/rpn_head.py --device cpu
    python benchmarks/rpn_head.py --device cpu --cases jacobi,nested_arc_taylor
    python benchmarks/rpn_head.py --device cuda --batch 1024
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.profiler import ProfilerActivity, profile

from rpnkit.rpn import RPNHead

M, N, RANK = 784, 64, 2


@dataclass(frozen=True)
class Case:
    """One benchmark row: a low-rank head ``m -> N`` of rank ``RANK`` with this expansion."""

    label: str
    m: int
    expansion: Any


def _matrix(m: int) -> Tensor:
    """A fixed, well-conditioned ``m × m`` matrix for the linear expansion rows."""
    generator = torch.Generator().manual_seed(0)
    return torch.eye(m) + torch.randn(m, m, generator=generator) / m**0.5


def _spec(name: str, **parameters: Any) -> dict[str, Any]:
    return {"name": name, "parameters": parameters}


#: Every row; the first is the headline Taylor head with its targets.
CASES: tuple[Case, ...] = (
    Case("taylor", M, "taylor"),
    # basic, arc, radial basis, orthogonal and recursive polynomials, nested
    Case("reciprocal", M, "reciprocal"),
    Case("linear_c", M, _spec("linear", c=0.5)),
    Case("linear_post_C", M, _spec("linear", post_C=_matrix(M))),
    Case("linear_pre_C", M, _spec("linear", pre_C=_matrix(M))),
    Case("arc_hyperbolic", M, "arc_hyperbolic"),
    Case("arc_trigonometric", M, "arc_trigonometric"),
    Case("inverse_quadratic_rbf", M, "inverse_quadratic_rbf"),
    Case("jacobi", M, _spec("jacobi", d=8)),
    Case("laguerre", M, _spec("laguerre", d=8)),
    Case("gegenbauer", M, _spec("gegenbauer", d=8)),
    Case("bessel", M, _spec("bessel", d=8)),
    Case("reverse_bessel", M, _spec("reverse_bessel", d=8)),
    Case("fibonacci", M, _spec("fibonacci", d=8)),
    Case("lucas", M, _spec("lucas", d=8)),
    Case("nested_arc_taylor", 256, _spec("nested", expansions=["arc_trigonometric", "taylor"])),
    Case("nested_jacobi_rbf", 128, _spec("nested", expansions=["jacobi", "inverse_quadratic_rbf"])),
)


def make_head(case: Case = CASES[0]) -> RPNHead:
    """The benchmarked head: ``m -> 64``, the case's expansion, low-rank r=2, no remainder."""
    return RPNHead(
        case.m,
        N,
        expansion=case.expansion,
        reconciliation={"name": "low_rank", "parameters": {"r": RANK}},
    )


def fast_forward(head: RPNHead, x: Tensor) -> Tensor:
    """The head's own forward."""
    return head(x)


def naive_forward(head: RPNHead, x: Tensor) -> Tensor:
    """The head's function computed by materialising ``κ(x)`` (b × D) and ``W`` (n × D)."""
    expanded = head.expansion(x)
    weight = head.reconciliation(head.w)
    return (expanded @ weight.transpose(-1, -2)).mean(0) + head.remainder(x)


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


def check_equal(device: torch.device, batch: int, case: Case = CASES[0]) -> tuple[float, float]:
    """Relative differences (max-abs) of outputs and gradients, float64, O(1) parameters."""
    torch.manual_seed(0)
    head = make_head(case).to(device=device, dtype=torch.float64)
    with torch.no_grad():
        head.w.normal_()
    x = torch.randn(batch, case.m, device=device, dtype=torch.float64)
    fast = head(x)
    (fast_grad,) = torch.autograd.grad(fast.square().mean(), head.w)
    naive = naive_forward(head, x)
    (naive_grad,) = torch.autograd.grad(naive.square().mean(), head.w)
    return _relative(fast, naive), _relative(fast_grad, naive_grad)


def _relative(value: Tensor, reference: Tensor) -> float:
    """``max |value - reference| / max |reference|``."""
    return ((value - reference).abs().max() / reference.abs().max()).item()


def run_case(case: Case, device: torch.device, args: argparse.Namespace) -> tuple[float, float]:
    """Check one row, time and measure both computations; return the time and memory ratios."""
    output_error, grad_error = check_equal(device, batch=16, case=case)
    if max(output_error, grad_error) > 1e-5:
        raise SystemExit(
            f"{case.label}: the fast head and the naive computation disagree "
            f"(output {output_error:.2e}, gradient {grad_error:.2e})"
        )
    torch.manual_seed(0)
    head = make_head(case).to(device)
    x = torch.randn(args.batch, case.m, device=device)
    results = {}
    for label, forward in (("rpnkit", fast_forward), ("naive", naive_forward)):
        seconds = median_time(forward, head, x, args.repeats, args.warmup)
        results[label] = (seconds, peak_memory(forward, head, x))
    (fast_s, fast_peak), (naive_s, naive_peak) = results["rpnkit"], results["naive"]
    print(
        f"{case.label:>22} m={case.m:<4} D={head.D:<7} "
        f"rpnkit {fast_s * 1e3:8.2f} ms {fast_peak / 2**20:8.2f} MiB | "
        f"naive {naive_s * 1e3:8.2f} ms {naive_peak / 2**20:8.2f} MiB | "
        f"speed-up {naive_s / fast_s:5.2f}x, memory 1/{naive_peak / max(fast_peak, 1):.1f} "
        f"(check {max(output_error, grad_error):.0e})"
    )
    return naive_s / fast_s, naive_peak / max(fast_peak, 1)


def main() -> None:
    """Parse arguments, run the comparison for every selected row and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default: 128)")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps (default: 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (default: 2)")
    parser.add_argument(
        "--cases",
        default="all",
        help=f"comma-separated rows, or all (default); rows: {', '.join(c.label for c in CASES)}",
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    known = {case.label: case for case in CASES}
    wanted = list(known) if args.cases == "all" else args.cases.split(",")
    unknown = [label for label in wanted if label not in known]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; choose from {', '.join(known)}")

    print(f"heads m -> {N}, low_rank r={RANK}, batch {args.batch}, {device.type}, float32")
    slower = []
    for label in wanted:
        speed_up, memory_ratio = run_case(known[label], device, args)
        if label == CASES[0].label:
            print(
                f"{'':>22} headline: speed-up {speed_up:.1f}x (target >= 3x); "
                f"peak memory ratio 1/{memory_ratio:.0f} (target <= 1/5)"
            )
        elif speed_up < 1:
            slower.append(label)
    if slower:
        print(f"slower than the naive computation: {', '.join(slower)}")


if __name__ == "__main__":
    main()
