"""Eager against ``compile=True`` on the digits RPN and a wider RPN, in the same run.

Run by hand: ``python benchmarks/compile.py [--epochs 5] [--threads 1]``. For each model it
trains the same epochs on digits with ``BackwardLearner`` eagerly and compiled (fresh models
from the same seed) and prints: the eager training time, the compiled training time, the
compile time the record reports (``compile_time_cost``), the compiled time without it, and
the ratio of the steady-state time per epoch (compiled / eager; below 1 means compiling pays
once its one-time cost is spread over enough epochs) and the number of epochs after which
it has paid.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import Any

import torch

import rpnkit
from rpnkit.learner import BackwardLearner

MODELS: dict[str, list[dict[str, Any]]] = {
    "digits RPN (64-64-10)": [
        {
            "m": 64,
            "n": 64,
            "expansion": {"name": "gaussian_rbf", "parameters": {"num_interval": 8}},
            "reconciliation": {"name": "low_rank", "parameters": {"r": 8}},
            "remainder": "linear",
        },
        {"m": 64, "n": 10, "expansion": "identity", "reconciliation": "identity"},
    ],
    "wide RPN (64-512-512-10)": [
        {
            "m": 64,
            "n": 512,
            "expansion": {"name": "gaussian_rbf", "parameters": {"num_interval": 8}},
            "reconciliation": {"name": "low_rank", "parameters": {"r": 32}},
            "remainder": "linear",
        },
        {"m": 512, "n": 512, "reconciliation": {"name": "low_rank", "parameters": {"r": 32}}},
        {"m": 512, "n": 10, "expansion": "identity", "reconciliation": "identity"},
    ],
}


def train(layers: list[dict[str, Any]], epochs: int, compile: bool) -> tuple[float, float, float]:
    """``(training seconds, compile seconds, median seconds of the epochs after the first)``."""
    data = rpnkit.build("dataset", "digits", batch_size=64, seed=0)
    torch.manual_seed(0)
    model = rpnkit.build("model", "rpn", layers=layers)
    learner = BackwardLearner(n_epochs=epochs, compile=compile, verbose=False)
    start = time.perf_counter()
    record = learner.train(model, data)
    seconds = time.perf_counter() - start
    steady = statistics.median(row["seconds"] for row in record["history"][1:])
    return seconds, record["preparation"].get("compile_time_cost", 0.0), steady


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.epochs} epochs on digits, batch 64, {args.threads} thread(s)")
    for name, layers in MODELS.items():
        eager, _, eager_epoch = train(layers, args.epochs, compile=False)
        compiled, cost, compiled_epoch = train(layers, args.epochs, compile=True)
        ratio = compiled_epoch / eager_epoch
        saved = eager_epoch - compiled_epoch
        pays = f"after {math.ceil(cost / saved)} epochs" if saved > 0 else "never"
        print(
            f"{name:<26} eager {eager:6.2f} s  compiled {compiled:6.2f} s "
            f"(compile {cost:5.2f} s, rest {compiled - cost:6.2f} s)  "
            f"steady epoch compiled/eager {ratio:4.2f}  pays {pays}"
        )


if __name__ == "__main__":
    main()
