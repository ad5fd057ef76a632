"""The RPN 2 paper's comparisons, offline and at small scale: structure-aware vs independent.

The paper (arXiv 2411.11162) reports MNIST MLP 0.982 / RPN 0.986 / CNN 0.996 / RPN 2 0.998,
Cora MLP 0.661 / RPN 0.682 / GCN 0.815 / RPN 2 0.822-0.830, and RPN 2 at or below an RNN's
MSE on time series. None of those datasets is reachable offline; this script trains the same
*comparisons* on data that is, with 3 seeds each, and prints mean ± std:

1. digits images ``(1, 8, 8)``: an RPN-1 MLP-style model vs RPN 2 ``cnn``;
2. a stochastic block model with noisy features, and the karate club: RPN-1 (node features
   only) vs ``gcn`` vs ``gat``, trained on the training nodes, scored on the test nodes;
3. a forecasting series (AR(2)): RPN-1 on the flat window vs ``regression_rnn`` (test MSE in
   normalised units, lower is better).

Run by hand: ``python benchmarks/rpn2_paper.py`` (a few minutes on 2 cores);
``--only graphs`` runs one comparison.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rpnkit
from rpnkit.run.structure import node_sets

SEEDS = (0, 1, 2)
#: 3×3 convolutions, 2×2 max pooling with stride 2 (as benchmarks/rpn2_models.py's cnn rows).
CONV = {"p_h": 1, "pooling_p_h": 0, "pooling_p_h_prime": 1, "pooling_p_w": 0,
        "pooling_p_w_prime": 1, "pooling_cd_h": 2, "pooling_cd_w": 2, "pooling_cd_d": 1}  # fmt: skip


def train(data: Any, build: Callable[[], torch.nn.Module], seed: int, **options: Any) -> float:
    """Train a freshly built model with ``seed``; return its last test score (or loss)."""
    torch.manual_seed(seed)
    model = build()
    metric = options.pop("metric", "accuracy")
    learner = rpnkit.BackwardLearner(
        n_epochs=options.pop("n_epochs"), loss=options.pop("loss"), verbose=False, seed=seed,
        optimizer={"name": "adam", "parameters": {"lr": options.pop("lr", 0.01),
                                                   "weight_decay": options.pop("wd", 0.0)}},
    )  # fmt: skip
    record = learner.train(model, data, metric=metric, disable_tqdm=True, **node_sets(data))
    last = record["history"][-1]
    return float(last["test_score"] if metric else last["test_loss"])


def rpn1(dims: list[int]) -> torch.nn.Module:
    """An RPN-1 MLP-style model: identity expansion, dense weight with bias, relu between
    layers and none after the last (tinybig's ``mlp`` puts relu on its outputs too)."""
    bias = {"name": "identity", "parameters": {"enable_bias": True}}
    layers = [
        {"m": m, "n": n, "reconciliation": bias,
         "output_process": ["relu"] if i < len(dims) - 2 else []}
        for i, (m, n) in enumerate(itertools.pairwise(dims))
    ]  # fmt: skip
    return rpnkit.build("model", "rpn", layers=layers)


def report(title: str, rows: dict[str, list[float]], better: str) -> None:
    """One table: mean ± std over the seeds for every model."""
    print(f"\n{title} ({better} is better; {len(SEEDS)} seeds)")
    for name, values in rows.items():
        mean = statistics.mean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"  {name:<28} {mean:.4f} ± {std:.4f}")


def images() -> None:
    """digits: RPN-1 MLP-style vs RPN 2 cnn."""
    rows: dict[str, list[float]] = {"RPN-1 [64,64,10]": [], "RPN 2 cnn [1,8,16]+[10]": []}
    for seed in SEEDS:
        data = rpnkit.build("dataset", "digits_images", seed=seed, batch_size=64)
        options = {"n_epochs": 15, "loss": "cross_entropy", "lr": 0.003}
        rows["RPN-1 [64,64,10]"].append(train(data, partial(rpn1, [64, 64, 10]), seed, **options))  # fmt: skip
        rows["RPN 2 cnn [1,8,16]+[10]"].append(train(data, partial(rpnkit.build,
            "model", "cnn", h=8, w=8, channel_nums=[1, 8, 16], fc_dims=[10],
            with_softmax=False, **CONV), seed, **options))  # fmt: skip
    report("digits 8x8 images, test accuracy", rows, "higher")


def graphs() -> None:
    """SBM with noisy features and karate club: RPN-1 vs gcn vs gat."""
    sbm = {"n_classes": 3, "nodes_per_class": 100, "p_in": 0.1, "p_out": 0.01,
           "n_features": 16, "signal": 0.3, "noise": 1.0, "train_size": 0.1,
           "val_size": 0.1, "test_size": 0.8}  # fmt: skip
    for name, parameters in (("sbm", sbm), ("karate_club", {})):
        rows: dict[str, list[float]] = {"RPN-1 (features only)": [], "RPN 2 gcn": [],
                                        "RPN 2 gat": []}  # fmt: skip
        for seed in SEEDS:
            data = rpnkit.build("dataset", name, seed=seed, **parameters)
            m, k = data.in_features, data.out_features
            options = {"n_epochs": 100, "loss": "nll", "lr": 0.01, "wd": 5e-4}
            rows["RPN-1 (features only)"].append(train(data, partial(rpn1, [m, 16, k]), seed,
                **{**options, "loss": "cross_entropy"}))  # fmt: skip
            rows["RPN 2 gcn"].append(train(data, partial(rpnkit.build,
                "model", "gcn", dims=[m, 16, k], graph=data), seed, **options))  # fmt: skip
            rows["RPN 2 gat"].append(train(data, partial(rpnkit.build,
                "model", "gat", dims=[m, 16, k], graph=data), seed, **options))  # fmt: skip
        report(f"{name} node classification, test accuracy", rows, "higher")


def series() -> None:
    """AR(2) forecasting: RPN-1 on the flat window vs regression_rnn."""
    rows: dict[str, list[float]] = {"RPN-1 [10,32,1]": [], "RPN 2 regression_rnn": []}
    for seed in SEEDS:
        data = rpnkit.build("dataset", "synthetic_series", kind="ar", length=2000, seed=seed)
        options = {"n_epochs": 20, "loss": "mse", "lr": 0.003, "metric": None}
        rows["RPN-1 [10,32,1]"].append(train(data, partial(rpn1, [10, 32, 1]), seed, **options))  # fmt: skip
        rows["RPN 2 regression_rnn"].append(train(data, partial(rpnkit.build,
            "model", "regression_rnn", chain_length=10, dims=[1, 32, 1],
            with_inverse_approx=True, with_residual=True, enable_bias=True,
            with_softmax=False), seed, **options))  # fmt: skip
    report("AR(2) series, x_len 10 -> 1, test MSE (normalised)", rows, "lower")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("images", "graphs", "series"), action="append")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    for name, run in (("images", images), ("graphs", graphs), ("series", series)):
        if not args.only or name in args.only:
            run()
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
