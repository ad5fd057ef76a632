"""Speed and peak memory of the RPN 2 models against tinybig 0.2.1, measured in the same run.

One row per case in :data:`CASES`: the rpnkit model and tinybig's model with the same
constructor keywords, one training step each (forward, a scalar loss, backward, gradients
cleared), in the same process, interleaved, single-threaded (``torch.set_num_threads(1)``).
The ratio printed is ``tinybig / rpnkit`` of the median step times (above 1: rpnkit is
faster), next to the case's goal; the peak memory is what one step allocates above what was
allocated before it (the ``[memory]`` events ``torch.profiler`` records on CPU); ``build``
is the seconds each model took to construct (tinybig builds its sparse gather matrices then).
Outputs are checked to have the same shape first.

Goals (issue 24): cnn on 28×28×1 batches >= 5x tinybig; gcn and gat at 2,000 nodes >= 10x;
rnn no slower. tinybig publishes no MNIST ``cnn`` configuration; the case ``cnn test_rpn_cnn``
is the one ``cnn`` it publishes (its integration test), measured without a goal.
The 2-D ``cnn`` cases also print a ceiling: tinybig's step over the time of the operators both
sides must run (its per-position BatchNorm, ReLU and dropout, profiled in tinybig's step) plus
rpnkit's oneDNN convolutions, which is the ratio an implementation with everything else free
would reach. The graph cases also print each side's first call (building the model from the
graph, then one step), which is where tinybig builds and caches its normalised adjacency; the
step rows are steady state (after one warm-up step each).

A case is a row of :data:`CASES`: a name, the goal ratio (or ``None``) and ``setup``, which
gets the imported ``tinybig`` package and returns ``(rpnkit model, tinybig model, input)``;
``step`` defaults to forward + backward of the mean of the squared output.

Run by hand (tinybig 0.2.1 installed with ``pip install --no-deps tinybig==0.2.1``)::

    python benchmarks/rpn2_models.py
    python benchmarks/rpn2_models.py --repeats 7 --case cnn
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rpnkit
from tests.tinybig_reference import import_tinybig

Setup = Callable[[Any], tuple[nn.Module, nn.Module, Tensor]]
#: Like :data:`Setup`, but the two models as zero-argument builders (for the first-call time).
Builders = Callable[[Any], tuple[Callable[[], nn.Module], Callable[[], nn.Module], Tensor]]


def forward_backward(model: nn.Module, x: Tensor) -> Tensor:
    """One training step without an optimizer: forward, ``mean(out²)``, backward."""
    out = model(x)
    out.square().mean().backward()
    model.zero_grad(set_to_none=True)
    return out.detach()


@dataclass(frozen=True)
class Case:
    """One benchmark row: how to build both models and their input, and the goal ratio."""

    name: str
    goal: float | None
    setup: Setup
    step: Callable[[nn.Module, Tensor], Tensor] = field(default=forward_backward)
    #: When given, also time each side's first call: building the model, then one step.
    builders: Builders | None = None
    #: Operator names the model's definition makes both sides run on the same tensors (the
    #: per-position BatchNorm, ReLU and dropout of a ``cnn``): their share of tinybig's step
    #: bounds the ratio any implementation of the rest can reach (printed as ``ceiling``).
    shared_ops: tuple[str, ...] = ()
    #: Operators of rpnkit's step taken as already at their limit (a ``cnn``'s oneDNN
    #: convolutions): added to the shared ones for the ceiling of the ratio.
    floor_ops: tuple[str, ...] = ()


def quietly(call: Callable[[], Any]) -> Any:
    """Run ``call`` with tinybig's prints and warnings silenced."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


def peak_memory(call: Callable[[], Any]) -> int:
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


def op_seconds(call: Callable[[], Any], names: tuple[str, ...], repeats: int = 3) -> float:
    """Seconds per ``call()`` spent in operators named ``names`` (self time, profiled)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(repeats):
            call()
    wanted = set(names)
    total_us = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in wanted)
    return total_us / 1e6 / repeats


def timed(ours: Callable[[], Any], theirs: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``theirs``, interleaved (one warm-up call each)."""
    ours()
    theirs()
    mine: list[float] = []
    reference: list[float] = []
    for _ in range(repeats):
        for call, into in ((ours, mine), (theirs, reference)):
            start = time.perf_counter()
            call()
            into.append(time.perf_counter() - start)
    return statistics.median(mine), statistics.median(reference)


def first_call(
    build: Callable[[], nn.Module], step: Callable[[nn.Module, Tensor], Tensor], x: Tensor
) -> Callable[[], Any]:
    """A call that builds a fresh model and runs its first step (what a one-off run pays)."""
    return lambda: step(build(), x)


# -- the cases -------------------------------------------------------------------------------


def _grid_models(name: str, batch: int, channels: int, size: int, **options: Any) -> Setup:
    """A ``cnn``/``resnet`` case: both models with ``options`` (``h = w = size`` unless given)
    and a random image batch."""

    def setup(tinybig: Any) -> tuple[nn.Module, nn.Module, Tensor]:
        from tinybig.model.rpn_cnn import cnn, resnet

        keywords = {"h": size, "w": size, **options}
        ours = rpnkit.build("model", name, **keywords)
        theirs = quietly(lambda: (cnn if name == "cnn" else resnet)(**keywords))
        cells = keywords["h"] * keywords["w"] * keywords.get("d", 1)
        x = torch.randn(batch, channels * cells, generator=torch.Generator().manual_seed(0))
        return ours, theirs, x

    return setup


#: 3×3 convolutions (stride 1), 2×2 max pooling with stride 2, as in a classic small CNN.
_CLASSIC = {
    "p_h": 1,
    "pooling_p_h": 0, "pooling_p_h_prime": 1, "pooling_p_w": 0, "pooling_p_w_prime": 1,
    "pooling_cd_h": 2, "pooling_cd_w": 2, "pooling_cd_d": 1,
}  # fmt: skip

#: The only ``cnn`` configuration tinybig publishes (its repository has no MNIST or CIFAR-10
#: ``cnn`` config or script; ``docs/notes/configs`` are RPN 1's): the model of
#: ``tests/integration_tests/model/test_rpn_cnn.py`` (cuboid patch, 5 samples; ``w`` and
#: ``d`` here, ``h`` from the case). Dense 3-D convolutions (``F.conv3d``) on both sides'
#: scale: expect a small ratio.
_TINYBIG_TEST_RPN_CNN = {
    "w": 8, "d": 5, "channel_nums": [3, 128, 256, 256, 512], "fc_dims": [512, 128, 10],
    "width": 2, "patch_shape": "cuboid", "p_h": 1, "p_w": 1, "p_d": 1, "p_r": 3,
    "cd_h": 1, "cd_w": 1, "cd_d": 1, "with_dual_lphm": False, "r": 3,
}  # fmt: skip

#: The operators of a ``cnn``'s output processing (BatchNorm1d, ReLU, dropout), forward and
#: backward, which tinybig and rpnkit run alike on the same ``(b, n)`` tensors.
_CNN_SHARED = (
    "aten::native_batch_norm", "aten::native_batch_norm_backward", "aten::relu",
    "aten::relu_", "aten::clamp_min", "aten::clamp_min_", "aten::threshold_backward",
    "aten::bernoulli_", "aten::div_",
)  # fmt: skip
#: rpnkit's convolutions (oneDNN), forward and backward.
_CNN_CONV = ("aten::mkldnn_convolution", "aten::convolution_backward")

CASES: list[Case] = [
    Case("cnn 28x28x1 [1,16,32] b=64", 5.0,
         _grid_models("cnn", 64, 1, 28, channel_nums=[1, 16, 32], fc_dims=[10], **_CLASSIC),
         shared_ops=_CNN_SHARED, floor_ops=_CNN_CONV),
    Case("cnn 28x28x1 cylinder r=1 b=64", 5.0,
         _grid_models("cnn", 64, 1, 28, channel_nums=[1, 16, 32], fc_dims=[10],
                      **{**_CLASSIC, "patch_shape": "cylinder", "p_r": 1,
                         "pooling_patch_shape": "cuboid"}),
         shared_ops=_CNN_SHARED, floor_ops=_CNN_CONV),
    Case("cnn 32x32x3 [3,16,32] b=32", None,
         _grid_models("cnn", 32, 3, 32, channel_nums=[3, 16, 32], fc_dims=[10], **_CLASSIC),
         shared_ops=_CNN_SHARED, floor_ops=_CNN_CONV),
    Case("resnet 12x12x1 [1,4,8] b=64", None,
         _grid_models("resnet", 64, 1, 12, channel_nums=[1, 4, 8], fc_dims=[10], **_CLASSIC)),
    Case("cnn test_rpn_cnn 10x8x5x3 b=5", None,
         _grid_models("cnn", 5, 3, 10, **_TINYBIG_TEST_RPN_CNN)),
]  # fmt: skip


# -- graphs and sequences (gcn, gat, rnn) ----------------------------------------------------


def _graph_builders(name: str, nodes: int, edges: int, features: int, **options: Any) -> Builders:
    """A ``gcn``/``gat`` case: one random graph (``edges`` links over ``nodes`` nodes)."""

    def builders(tinybig: Any) -> tuple[Callable[[], nn.Module], Callable[[], nn.Module], Tensor]:
        from tinybig.koala.topology import graph
        from tinybig.model import gat, gcn

        generator = torch.Generator().manual_seed(0)
        links = torch.randint(0, nodes, (2, edges), generator=generator)
        pairs = [(int(a), int(b)) for a, b in links.t().tolist()]

        def ours() -> nn.Module:
            return rpnkit.build("model", name, nodes=nodes, links=links, **options)

        def theirs() -> nn.Module:
            structure = graph(nodes=list(range(nodes)), links=pairs, directed=False)
            return (gcn if name == "gcn" else gat)(graph=structure, **options)

        return ours, lambda: quietly(theirs), torch.randn(nodes, features, generator=generator)

    return builders


def _graph_models(name: str, nodes: int, edges: int, features: int, **options: Any) -> Setup:
    """The models of :func:`_graph_builders`, built."""

    def setup(tinybig: Any) -> tuple[nn.Module, nn.Module, Tensor]:
        ours, theirs, x = _graph_builders(name, nodes, edges, features, **options)(tinybig)
        return ours(), theirs(), x

    return setup


def _sequence_models(name: str, batch: int, length: int, **options: Any) -> Setup:
    """An ``rnn``/``regression_rnn`` case: ``batch`` random sequences ``(b, L·m)``."""

    def setup(tinybig: Any) -> tuple[nn.Module, nn.Module, Tensor]:
        ours = rpnkit.build("model", name, chain_length=length, **options)
        theirs = quietly(lambda: getattr(tinybig.model, name)(chain_length=length, **options))
        x = torch.randn(
            batch, length * options["dims"][0], generator=torch.Generator().manual_seed(0)
        )
        return ours, theirs, x

    return setup


_GRAPH = {"nodes": 2000, "edges": 8000, "features": 64, "dims": [64, 16, 4]}

CASES.extend([
    Case("gcn n=2000 E=8000 [64,16,4]", 10.0, _graph_models("gcn", **_GRAPH),
         builders=_graph_builders("gcn", **_GRAPH)),
    Case("gat n=2000 E=8000 [64,16,4]", 10.0, _graph_models("gat", **_GRAPH),
         builders=_graph_builders("gat", **_GRAPH)),
    Case("rnn L=10 m=3 [3,32,32,4] b=64", 1.0,
         _sequence_models("rnn", 64, 10, dims=[3, 32, 32, 4])),
    Case("rnn L=50 inverse [3,32,4] b=64", 1.0,
         _sequence_models("rnn", 64, 50, dims=[3, 32, 4], with_inverse_approx=True)),
    Case("regression_rnn L=10 [1,32,1] b=256", 1.0,
         _sequence_models("regression_rnn", 256, 10, dims=[1, 32, 1], with_softmax=False)),
])  # fmt: skip


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
    print(f"torch {torch.__version__}, 1 thread, forward + backward, median of {args.repeats}")
    print(
        f"{'case':<34} {'rpnkit':>9} {'tinybig':>9} {'ratio':>7} {'goal':>6} {'build':>13}"
        f" {'rpnkit peak':>12} {'tinybig peak':>13}"
    )
    missed = []
    for case in CASES:
        if args.case and not any(c in case.name for c in args.case):
            continue
        torch.manual_seed(0)
        start = time.perf_counter()
        ours, theirs, x = case.setup(tinybig)
        built = time.perf_counter() - start
        ours_call = functools.partial(case.step, ours, x)
        theirs_call = functools.partial(quietly, functools.partial(case.step, theirs, x))
        if ours_call().shape != theirs_call().shape:
            print(f"{case.name}: output shapes differ")
            missed.append(case.name)
            continue
        mine, reference = timed(ours_call, theirs_call, args.repeats)
        ratio = reference / mine
        goal = "-" if case.goal is None else f"{case.goal:g}x"
        if case.goal is not None and ratio < case.goal:
            missed.append(case.name)
        print(
            f"{case.name:<34} {mine * 1e3:>7.1f}ms {reference * 1e3:>7.1f}ms {ratio:>6.1f}x"
            f" {goal:>6} {built:>12.2f}s {peak_memory(ours_call) / 2**20:>9.1f}MiB"
            f" {peak_memory(theirs_call) / 2**20:>10.1f}MiB"
        )
        if case.shared_ops:
            shared = op_seconds(theirs_call, case.shared_ops)
            floor = op_seconds(ours_call, case.floor_ops) if case.floor_ops else 0.0
            print(
                f"{'  ceiling: ops both run':<34} {floor * 1e3:>7.1f}ms {shared * 1e3:>7.1f}ms"
                f" {reference / (shared + floor):>6.1f}x  (tinybig / (its BN, ReLU, dropout +"
                f" our convolutions))"
            )
        if case.builders is not None:
            build_ours, build_theirs, x = case.builders(tinybig)
            cold_ours = first_call(build_ours, case.step, x)
            cold_theirs = functools.partial(quietly, first_call(build_theirs, case.step, x))
            mine, reference = timed(cold_ours, cold_theirs, max(3, args.repeats // 5))
            print(
                f"{'  first call (build + 1 step)':<34} {mine * 1e3:>7.1f}ms"
                f" {reference * 1e3:>7.1f}ms {reference / mine:>6.1f}x"
            )
    print("below the goal: " + (", ".join(missed) if missed else "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
