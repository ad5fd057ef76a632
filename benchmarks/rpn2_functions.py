"""Speed and peak memory of RPN 2 functions against tinybig 0.2.1, measured in the same run.

One row per function family at the sizes of issue 23's "Faster by algebra" section: each
rpnkit function is timed against the same function built by tinybig 0.2.1 (or, where tinybig
crashes or has no such path, the straightforward materialised computation), in the same
process, interleaved, single-threaded; the value printed is the ratio of medians
(``tinybig / rpnkit``: above 1 means rpnkit is faster) and the peak memory allocated during
one call above what was allocated before it (the ``[memory]`` events ``torch.profiler``
records on CPU). Values are compared first (largest absolute difference).

Goal: no row below 1.0 (no component slower than tinybig's); the issue's figures are
distance kernels 8-11x, mutual information >= 22x, RV >= 37x, PageRank n = 2000 in 64-144 ms.

Run by hand (tinybig 0.2.1 installed with ``pip install --no-deps tinybig==0.2.1``)::

    python benchmarks/rpn2_functions.py
    python benchmarks/rpn2_functions.py --repeats 7 --case pagerank
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rpnkit
from tests.tinybig_reference import import_tinybig

Call = Callable[[], torch.Tensor]


def peak_memory(call: Call) -> int:
    """Peak bytes allocated during one ``call()`` above those allocated before it."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        call()
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


def timed(ours: Call, theirs: Call, repeats: int) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``theirs``, interleaved."""
    mine: list[float] = []
    reference: list[float] = []
    for _ in range(repeats):
        for call, into in ((ours, mine), (theirs, reference)):
            start = time.perf_counter()
            call()
            into.append(time.perf_counter() - start)
    return statistics.median(mine), statistics.median(reference)


def _quiet(call: Call) -> Call:
    def run() -> torch.Tensor:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()

    return run


def _matrix(function: Any, x: torch.Tensor) -> Call:
    """``function.calculate_A(x)`` as a call."""
    return lambda: function.calculate_A(x)


def _dense(value: torch.Tensor) -> torch.Tensor:
    return value.to_dense() if value.is_sparse else value


def cases(ti: Any) -> dict[str, tuple[str, Call, Call]]:
    """``name: (reference label, rpnkit call, reference call)``."""
    g = torch.Generator().manual_seed(0)
    out: dict[str, tuple[str, Call, Call]] = {}

    x = torch.rand(64, 256, generator=g)
    for name in ("euclidean_distance", "manhattan_distance", "canberra_distance"):
        ours = rpnkit.build("interdependence", name, b=64, m=256, interdependence_type="attribute")
        theirs = getattr(ti, f"{name}_interdependence")(
            b=64, m=256, interdependence_type="attribute"
        )
        out[f"{name} b=64 m=256"] = (
            "tinybig",
            _matrix(ours, x),
            _quiet(_matrix(theirs, x)),
        )

    x48 = torch.rand(64, 48, generator=g)
    for name in ("mutual_information", "rv_coefficient"):
        params = {"formula": "tinybig"} if name == "rv_coefficient" else {}
        ours = rpnkit.build(
            "interdependence", name, b=64, m=48, interdependence_type="attribute", **params
        )
        theirs = getattr(ti, f"{name}_interdependence")(
            b=64, m=48, interdependence_type="attribute"
        )
        out[f"{name} b=64 m=48"] = (
            "tinybig",
            _matrix(ours, x48),
            _quiet(_matrix(theirs, x48)),
        )

    n, m = 2000, 64
    drawn = torch.randint(0, n, (8000, 2), generator=g)
    links = drawn[drawn[:, 0] != drawn[:, 1]].tolist()
    features = torch.rand(n, m, generator=g)
    from tinybig.koala.topology import graph as tinybig_graph

    graph = tinybig_graph(nodes=list(range(n)), links=[tuple(e) for e in links], directed=False)
    common = {"b": n, "m": m, "interdependence_type": "instance", "normalization": True,
              "normalization_mode": "column"}  # fmt: skip
    ours_pr = rpnkit.build("interdependence", "pagerank_multihop_graph", nodes=list(range(n)),
                           links=links, directed=False, **common)  # fmt: skip
    theirs_pr = ti.pagerank_multihop_graph_interdependence(graph=graph, **common)
    out[f"pagerank n={n} m={m}"] = (
        "tinybig",
        lambda: ours_pr(features),
        _quiet(lambda: theirs_pr(x=features)),
    )
    out[f"pagerank n={n} m={m}, A formed per call"] = (
        "tinybig",
        lambda: ours_pr(features),
        _quiet(
            lambda: ti.pagerank_multihop_graph_interdependence(graph=graph, **common)(x=features)
        ),
    )
    ours_g = rpnkit.build("interdependence", "multihop_graph", nodes=list(range(n)), links=links,
                          directed=False, h=2, **common)  # fmt: skip
    theirs_g = ti.multihop_graph_interdependence(graph=graph, h=2, **common)
    out[f"multihop_graph h=2 n={n} m={m}"] = (
        "tinybig",
        lambda: ours_g(features),
        _quiet(lambda: theirs_g(x=features)),
    )

    length, batch = 64, 256
    seq = torch.rand(length, batch, generator=g)
    chain = {"b": length, "m": batch, "chain_length": length, "interdependence_type": "instance"}
    ours_c = rpnkit.build("interdependence", "inverse_approx_multihop_chain", **chain)
    theirs_c = ti.inverse_approx_multihop_chain_interdependence(**chain)
    out[f"inverse_approx_chain L={length} b={batch}"] = (
        "tinybig",
        lambda: ours_c(seq),
        _quiet(lambda: theirs_c(x=seq)),
    )

    b, mb, r = 512, 256, 8
    xb = torch.rand(b, mb, generator=g)
    ours_b = rpnkit.build("interdependence", "lowrank_parameterized_bilinear", b=b, m=mb,
                          interdependence_type="instance", r=r)  # fmt: skip
    wb = torch.rand(1, ours_b.calculate_l(), generator=g)
    theirs_b = ti.lowrank_parameterized_bilinear_interdependence(b=b, m=mb, r=r,
                                                                 interdependence_type="instance")  # fmt: skip
    out[f"lowrank_bilinear b={b} m={mb} r={r}"] = (
        "tinybig",
        lambda: ours_b(xb, wb),
        _quiet(lambda: theirs_b(x=xb, w=wb)),
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--case", action="append", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    tinybig = import_tinybig()
    if tinybig is None:
        print("tinybig 0.2.1 is not installed: pip install --no-deps tinybig==0.2.1")
        return 1
    import tinybig.interdependence as ti

    print(f"torch {torch.__version__}, 1 thread, median of {args.repeats}")
    header = f"{'function':<38} {'vs':<8} {'rpnkit':>10} {'reference':>10} {'ratio':>7}"
    print(header + f" {'rpnkit peak':>12} {'ref peak':>12} {'max |diff|':>10}")
    slower = []
    for name, (label, ours, theirs) in cases(ti).items():
        if args.case and not any(c in name for c in args.case):
            continue
        diff = (_dense(ours()).double() - _dense(theirs()).double()).abs().max().item()
        mine, reference = timed(ours, theirs, args.repeats)
        ratio = reference / mine
        if ratio < 1:
            slower.append(name)
        print(
            f"{name:<38} {label:<8} {mine * 1e3:>8.2f}ms {reference * 1e3:>8.2f}ms {ratio:>6.1f}x"
            f" {peak_memory(ours) / 2**20:>9.2f}MiB {peak_memory(theirs) / 2**20:>9.2f}MiB"
            f" {diff:>10.2e}"
        )
    print("slower than the reference: " + (", ".join(slower) if slower else "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
