"""What :class:`rpnkit.data.BatchLoader` saves over a DataLoader of a TensorDataset.

Two measurements, on the CPU with one thread, in CPU seconds of this process
(``time.process_time``), the sides alternating run by run and the median of the per-repeat
ratios reported (with the ratio of the fastest runs as a check robust to load):

1. **Iteration.** One epoch over 64-feature data at batch size 16: a shuffling
   ``BatchLoader`` against ``DataLoader(TensorDataset(x, y), shuffle=True)`` with the same
   seeded generator. Both serve the same batches.
2. **Training.** A 64-64-10 MLP trained on digits at batch size 16: rpnkit's
   ``BackwardLearner`` on the digits :class:`~rpnkit.data.DataBundle` (whose loaders are
   BatchLoaders; metric, progress bar and epoch table on, their output to ``os.devnull``)
   against a hand-written loop over ``DataLoader(TensorDataset(...))`` of the same tensors
   doing the same work per epoch (training pass with AdamW and streaming accuracy, test pass).
   Both see the same batches, so they end with identical weights and the same history (up to
   the order in which the loss sums are accumulated), which the script checks. The goal is a ratio of at most 0.9.

Run it with ``python benchmarks/data_loader.py [--repeats 15] [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rpnkit import data
from rpnkit.data import BatchLoader, DataBundle
from rpnkit.learner import BackwardLearner
from rpnkit.metrics import Accuracy

SEED = 0
BATCH = 16


def summary(first: list[float], second: list[float]) -> tuple[float, float, float, float]:
    """``(median first, median second, median of second/first ratios, ratio of the minima)``."""
    ratios = [b / a for a, b in zip(first, second, strict=True)]
    return (
        statistics.median(first),
        statistics.median(second),
        statistics.median(ratios),
        min(second) / min(first),
    )


def iteration(repeats: int) -> tuple[float, float, float, float]:
    """One epoch of each loader over 16384 samples of 64 features, interleaved."""
    generator = torch.Generator().manual_seed(SEED)
    dataset = TensorDataset(torch.randn(16384, 64, generator=generator), torch.arange(16384) % 10)
    loaders: dict[str, Any] = {
        "dataloader": DataLoader(
            dataset,
            batch_size=BATCH,
            shuffle=True,
            generator=torch.Generator().manual_seed(SEED),
        ),
        "batchloader": BatchLoader(dataset, BATCH, shuffle=True, seed=SEED),
    }
    times: dict[str, list[float]] = {name: [] for name in loaders}
    for repeat in range(repeats + 1):
        order = list(loaders) if repeat % 2 == 0 else list(reversed(loaders))
        for name in order:
            start = time.process_time()
            for _ in loaders[name]:
                pass
            if repeat:  # the first round warms up
                times[name].append(time.process_time() - start)
    return summary(times["dataloader"], times["batchloader"])


def make_model() -> nn.Module:
    torch.manual_seed(SEED)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def raw_loop(bundle: DataBundle, epochs: int) -> tuple[nn.Module, list[tuple[float, ...]]]:
    """The hand-written loop over plain DataLoaders of the bundle's own tensors."""
    train, test = bundle.train_loader.dataset, bundle.test_loader.dataset
    train_loader = DataLoader(
        train, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(SEED)
    )
    test_loader = DataLoader(test, batch_size=BATCH)
    model = make_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    metric = Accuracy()
    history = []
    for _ in range(epochs):
        model.train()
        metric.reset()
        train_loss, train_count = torch.zeros((), dtype=torch.float64), 0
        for features, labels in train_loader:
            output = model(features)
            loss = criterion(output, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            metric.update(output.detach(), labels)
            train_loss += loss.detach() * labels.shape[0]
            train_count += labels.shape[0]
        train_score = metric.compute()
        model.eval()
        metric.reset()
        test_loss, test_count = torch.zeros((), dtype=torch.float64), 0
        with torch.inference_mode():
            for features, labels in test_loader:
                output = model(features)
                test_loss += criterion(output, labels) * labels.shape[0]
                test_count += labels.shape[0]
                metric.update(output, labels)
        values = torch.stack([train_loss, train_score, test_loss, metric.compute()]).tolist()
        history.append((values[0] / train_count, values[1], values[2] / test_count, values[3]))
    return model, history


def learner_run(bundle: DataBundle, epochs: int) -> tuple[nn.Module, list[tuple[float, ...]]]:
    """rpnkit's learner on the bundle itself (BatchLoaders), display on, to ``os.devnull``."""
    bundle.train_loader.set_epoch(0)  # type: ignore[attr-defined]  # every run from epoch 0
    model = make_model()
    learner = BackwardLearner(
        n_epochs=epochs,
        optimizer_configs={"name": "adamw", "parameters": {"lr": 1e-3}},
        loss="cross_entropy",
    )
    with (
        open(os.devnull, "w") as sink,
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        record = learner.train(model, bundle, metric=Accuracy(), disable_tqdm=False)
    rows = [
        (row["train_loss"], row["train_score"], row["test_loss"], row["test_score"])
        for row in record["history"]
    ]
    return model, rows


def training(repeats: int, epochs: int) -> tuple[tuple[float, float, float, float], bool]:
    """Both sides on digits, interleaved; also whether they ended identical every time."""
    bundle = data.digits(batch_size=BATCH, seed=SEED)
    sides: dict[str, Callable[[DataBundle, int], tuple[nn.Module, list[tuple[float, ...]]]]]
    sides = {"raw": raw_loop, "learner": learner_run}
    for side in sides.values():  # warm-up: imports, allocator, registry
        side(bundle, 1)
    times: dict[str, list[float]] = {name: [] for name in sides}
    identical = True
    for repeat in range(repeats):
        order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
        results: dict[str, tuple[nn.Module, list[tuple[float, ...]]]] = {}
        for name in order:
            start = time.process_time()
            results[name] = sides[name](bundle, epochs)
            times[name].append(time.process_time() - start)
        (raw_model, raw_history), (learner_model, learner_history) = (
            results["raw"],
            results["learner"],
        )
        identical &= _close(raw_history, learner_history) and all(
            torch.equal(p, q)
            for p, q in zip(raw_model.parameters(), learner_model.parameters(), strict=True)
        )
    return summary(times["raw"], times["learner"]), identical


def _close(a: list[tuple[float, ...]], b: list[tuple[float, ...]]) -> bool:
    """Histories equal up to the order of summation (the loss sums agree to 1e-8)."""
    return len(a) == len(b) and all(
        abs(x - y) <= 1e-8 * max(1.0, abs(x))
        for row_a, row_b in zip(a, b, strict=True)
        for x, y in zip(row_a, row_b, strict=True)
    )


def main() -> None:
    """Run both measurements and print their medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per side")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs per run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, batch size {BATCH}, {args.repeats} repeats")
    dl, bl, ratio, best = iteration(args.repeats)
    print("one epoch over 16384 x 64 features (CPU s):")
    print(f"  DataLoader {dl:.4f}  BatchLoader {bl:.4f}  median ratio {ratio:.3f}  best {best:.3f}")
    (raw, learner, ratio, best), identical = training(args.repeats, args.epochs)
    print(f"MLP 64-64-10 on digits, {args.epochs} epochs (CPU s):")
    print(
        f"  hand-written loop over DataLoader {raw:.3f}  BackwardLearner on the bundle "
        f"{learner:.3f}  median ratio {ratio:.3f}  best {best:.3f}  "
        f"same weights and history: {'yes' if identical else 'NO'}"
    )


if __name__ == "__main__":
    main()
