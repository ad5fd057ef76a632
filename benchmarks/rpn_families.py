"""(The flagship heads with the fraction of the measured matmul limit are in
``benchmarks/rpn_head.py``.)

Speed and peak memory of RPN heads against the naive computation, one row per expansion.

Every row is a head 784 -> 64 (a 28 × 28 grid for the geometric expansions) with a low-rank
reconciliation of rank 2 and one expansion. rpnkit's head never forms the ``n × D`` weight
(``(κ(x) Bᵀ) Aᵀ``), and expansions with a factorised projection never form the ``b × D``
expansion either: Taylor and the order-2 wavelets compute ``κ(x) Bᵀ`` from ``x`` (or the
wavelet values) directly, the combinatorial and geometric expansions scatter ``B`` onto the
``m`` features, and the normal, gamma and exponential expansions fold ``B``'s six blocks onto
the 2 (or 1) features their log-densities are linear in; a linear expansion with a matrix
``M`` multiplies it into ``B`` (``x (B Mᵀ)ᵀ``), and a nested expansion hands ``B`` to its last
part, so a nested ``[..., taylor]`` keeps Taylor's path. The reference is the naive
computation of the same function with the same parameters, as tinybig does it: materialise
``κ(x)`` and ``W = A B``, then ``κ(x) Wᵀ``.

Both are measured in the same run on one forward+backward step: the median step time over
repeats, and the peak memory allocated during the step above what was allocated before it
(``torch.cuda.max_memory_allocated`` on CUDA; on CPU the allocation events recorded by
``torch.profiler`` with ``profile_memory=True``). Outputs and gradients are compared in
float64 first. Targets: Taylor >= 3x faster at <= 1/5 of the memory; every other row no
slower than the naive computation.

Then one row per reconciliation family (:data:`RECONCILIATIONS`), on a smaller Taylor head
(``--rows-m`` features, 64 outputs, a linear remainder): the head's own forward against the same
head with the weight ``ψ(w)`` formed and passed to the expansion's projection, so only the
reconciliation side differs. Factored reconciliations (constant, duplicated padding, random
matrix adaption) should be faster and lighter; the others form their weight either way and
should tie.

Run by hand::

    python benchmarks/rpn_families.py --device cpu
    python benchmarks/rpn_families.py --device cpu --case taylor --case gamma
    python benchmarks/rpn_families.py --device cuda --batch 1024
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.profiler import ProfilerActivity, profile

from rpnkit.rpn import RPNHead

sys.path.append(str(Path(__file__).resolve().parent))
from matmul_limit import matmul_rate, synchronize

M, N, RANK = 784, 64, 2
_GRID = {"h": 28, "w": 28}
#: A fixed, well-conditioned M × M matrix for the linear expansion rows.
_MATRIX = torch.eye(M) + torch.randn(M, M, generator=torch.Generator().manual_seed(0)) / M**0.5

#: Benchmark rows: name -> expansion config of a head M -> N.
CASES: dict[str, Any] = {
    "taylor": "taylor",
    **{name: name for name in ("normal", "cauchy", "laplace", "gamma", "chi2", "exponential",
                               "hybrid_probabilistic", "naive_cauchy", "naive_laplace",
                               "naive_gamma", "naive_chi2", "naive_exponential")},
    "combinatorial": {"name": "combinatorial", "parameters": {"d": 2}},
    "combinatorial_normal": {"name": "combinatorial_normal", "parameters": {"d": 2}},
    **{name: {"name": name, "parameters": {"s": 2, "t": 2}}
       for name in ("harr", "ricker", "dog", "meyer", "shannon", "beta")},
    "ricker d=2": {"name": "ricker", "parameters": {"d": 2}},
    "cuboid": {"name": "cuboid", "parameters": {"p_h": 1, "p_w": 1, **_GRID}},
    "cylinder": {"name": "cylinder", "parameters": {"p_r": 2, **_GRID}},
    "sphere": {"name": "sphere", "parameters": {"p_r": 2, **_GRID}},
    **{name: name for name in ("reciprocal", "arc_hyperbolic", "arc_trigonometric",
                               "inverse_quadratic_rbf")},
    "linear c": {"name": "linear", "parameters": {"c": 0.5}},
    "linear post_C": {"name": "linear", "parameters": {"post_C": _MATRIX}},
    "linear pre_C": {"name": "linear", "parameters": {"pre_C": _MATRIX}},
    **{name: {"name": name, "parameters": {"d": 8}}
       for name in ("jacobi", "laguerre", "gegenbauer", "bessel", "reverse_bessel",
                    "fibonacci", "lucas")},
    "nested linear,taylor": {"name": "nested", "parameters": {
        "expansions": [{"name": "linear", "parameters": {"c": 0.5}}, "taylor"]}},
    "nested jacobi,iq_rbf": {"name": "nested", "parameters": {
        "expansions": ["jacobi", "inverse_quadratic_rbf"]}},
}  # fmt: skip

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


def make_head(case: str = "taylor") -> RPNHead:
    """The benchmarked head of row ``case``: 784 -> 64, low-rank r=2, no remainder."""
    return RPNHead(
        M, N, expansion=CASES[case], reconciliation={"name": "low_rank", "parameters": {"r": RANK}}
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


def median_times(
    forwards: dict[str, Callable[[RPNHead, Tensor], Tensor]],
    head: RPNHead,
    x: Tensor,
    repeats: int,
    warmup: int,
) -> dict[str, float]:
    """Median wall time in seconds of :func:`step` for every forward, ``repeats`` runs each.

    The forwards take turns within every repeat, so a change of machine load during the
    measurement affects them alike.
    """
    for _ in range(warmup):
        for forward in forwards.values():
            step(forward, head, x)
    times: dict[str, list[float]] = {label: [] for label in forwards}
    for _ in range(repeats):
        for label, forward in forwards.items():
            synchronize(x.device)
            start = time.perf_counter()
            step(forward, head, x)
            synchronize(x.device)
            times[label].append(time.perf_counter() - start)
    return {label: statistics.median(values) for label, values in times.items()}


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
    case: str = "taylor",
    head_factory: Callable[[], RPNHead] | None = None,
    reference: Callable[[RPNHead, Tensor], Tensor] = naive_forward,
) -> tuple[float, float]:
    """Relative differences (max-abs) of outputs and gradients, float64, O(1) parameters.

    The head is ``make_head(case)`` unless ``head_factory`` is given; the gradient is taken
    with respect to every non-empty parameter of the head.
    """
    torch.manual_seed(0)
    factory = head_factory if head_factory is not None else (lambda: make_head(case))
    head = factory().to(device=device, dtype=torch.float64)
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

        output_error, grad_error = check_equal(
            device, 8, head_factory=factory, reference=formed_forward
        )
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


def essential_flops(batch: int, d: int, rank: int = RANK, n: int = N) -> float:
    """The low-rank head's matmul work per step: forward ``(κ(x) Bᵀ) Aᵀ`` and the gradients
    of ``A`` and ``B`` (the input's gradient is not needed for a first layer)."""
    return 2.0 * batch * (2 * d * rank + 3 * rank * n)


def run_case(case: str, device: torch.device, args: argparse.Namespace) -> tuple[float, float]:
    """Check and measure one row; return the speed-up and the peak memory ratio."""
    output_error, grad_error = check_equal(device, batch=16, case=case)
    if max(output_error, grad_error) > 1e-5:
        raise SystemExit(
            f"{case}: the fast head and the naive computation disagree (output "
            f"{output_error:.2e}, gradient {grad_error:.2e})"
        )
    torch.manual_seed(0)
    head = make_head(case).to(device)
    x = torch.randn(args.batch, M, device=device)
    forwards = {"rpnkit": fast_forward, "naive": naive_forward}
    seconds = median_times(forwards, head, x, args.repeats, args.warmup)
    results = {label: (seconds[label], peak_memory(f, head, x)) for label, f in forwards.items()}
    (fast_s, fast_peak), (naive_s, naive_peak) = results["rpnkit"], results["naive"]
    limit = essential_flops(args.batch, head.D) / (fast_s * matmul_rate(device))
    print(
        f"{case:<21} {head.D:>8} {max(output_error, grad_error):>8.1e} {limit:>7.1%} "
        f"{fast_s * 1e3:>10.2f} {naive_s * 1e3:>10.2f} {naive_s / fast_s:>8.1f}x "
        f"{fast_peak / 2**20:>10.2f} {naive_peak / 2**20:>10.2f} "
        f"{naive_peak / max(fast_peak, 1):>7.1f}x",
        flush=True,
    )
    return naive_s / fast_s, naive_peak / max(fast_peak, 1)


def main() -> None:
    """Parse arguments, run the comparisons and print one row per expansion."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default: 128)")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps (default: 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (default: 2)")
    parser.add_argument(
        "--case", action="append", choices=list(CASES), help="rows to run (default: all)"
    )
    parser.add_argument(
        "--rows-m",
        type=int,
        default=256,
        help="input size of the reconciliation rows (256); m + m² must be a multiple of 64",
    )
    parser.add_argument(
        "--no-reconciliations", action="store_true", help="skip the reconciliation rows"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    cases = args.case or list(CASES)
    print(
        f"heads {M} -> {N}, low_rank r={RANK}, batch {args.batch}, {device.type}, float32; "
        "times per forward+backward step, peak memory above the step's start; limit: the "
        "head's essential matmul work over the float32 matmul rate measured in the same run"
    )
    print(
        f"{'expansion':<21} {'D':>8} {'f64 err':>8} {'limit':>7} {'rpnkit ms':>10} {'naive ms':>10} "
        f"{'speed-up':>9} {'rpnkit MiB':>10} {'naive MiB':>10} {'memory':>8}"
    )
    slower = []
    for case in cases:
        speed_up, _ = run_case(case, device, args)
        if case == "taylor":
            print(f"{'':<21} taylor targets: speed-up >= 3x, memory ratio >= 5x")
        elif speed_up < 1:
            slower.append(case)
    if slower:
        print(f"slower than the naive computation: {', '.join(slower)}")
    if not args.no_reconciliations:
        reconciliation_rows(device, args)


if __name__ == "__main__":
    main()
