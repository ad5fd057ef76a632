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

Run by hand::

    python benchmarks/rpn_head.py --device cpu
    python benchmarks/rpn_head.py --device cuda --batch 1024
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor
from torch.profiler import ProfilerActivity, profile

from rpnkit.rpn import RPNHead

M, N, RANK = 784, 64, 2


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


def check_equal(device: torch.device, batch: int) -> tuple[float, float]:
    """Relative differences (max-abs) of outputs and gradients, float64, O(1) parameters."""
    torch.manual_seed(0)
    head = make_head().to(device=device, dtype=torch.float64)
    with torch.no_grad():
        head.w.normal_()
    x = torch.randn(batch, M, device=device, dtype=torch.float64)
    fast = head(x)
    (fast_grad,) = torch.autograd.grad(fast.square().mean(), head.w)
    naive = naive_forward(head, x)
    (naive_grad,) = torch.autograd.grad(naive.square().mean(), head.w)
    return _relative(fast, naive), _relative(fast_grad, naive_grad)


def _relative(value: Tensor, reference: Tensor) -> float:
    """``max |value - reference| / max |reference|``."""
    return ((value - reference).abs().max() / reference.abs().max()).item()


def main() -> None:
    """Parse arguments, run the comparison and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default: 128)")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps (default: 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (default: 2)")
    args = parser.parse_args()
    device = torch.device(args.device)

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
