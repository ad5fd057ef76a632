"""Overhead of :class:`rpnkit.learner.BackwardLearner` against a hand-written PyTorch loop.

Both sides train the same MLP (64-64-10) on scikit-learn's digits (``rpnkit.data.digits``:
1437 train / 360 test samples, standardised, the loaders rpnkit serves) from the same seed,
on the CPU with one thread, and do the same work per epoch: a training pass (forward, cross
entropy, backward, AdamW step, streaming accuracy) and a test pass (loss and accuracy), the
losses summed per sample in float64 as the learner does, with the epoch's numbers read back
once at its end. The learner runs with its metric, progress bar and epoch table on (their
output goes to ``os.devnull``), so the ratio measures what the learner adds: preparation,
records, hooks, display and checks. Runs alternate between the two sides; the script prints
the median of the per-repeat ratios and, as a check robust to other load on the machine, the
ratio of the fastest runs. Times are CPU seconds of this process (``time.process_time``), so
other processes on a shared machine disturb them less than wall time, though not entirely:
on a loaded 2-core machine the median moves by 2-3% between invocations, so compare several.
It also checks that both sides end with identical weights and bit-identical histories (train
and test loss and accuracy of every epoch), which shows they did the same work. The target
is at most 1.03 at batch size 16 (see docs/performance.md for measured numbers).

Run it with ``python benchmarks/learner_overhead.py [--repeats 15] [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from rpnkit.data import DataBundle, digits
from rpnkit.learner import BackwardLearner
from rpnkit.metrics import Accuracy

SEED = 0
FEATURES, HIDDEN, CLASSES = 64, 64, 10


def make_run(batch_size: int) -> tuple[nn.Module, DataBundle]:
    """A freshly seeded model and the digits loaders, identical on every call."""
    torch.manual_seed(SEED)
    model = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
    data = digits(batch_size=batch_size, test_size=0.2, seed=SEED, standardize=True)
    return model, data


def raw_loop(model: nn.Module, loaders: DataBundle, epochs: int) -> list[tuple[float, ...]]:
    """The hand-written loop: the same work as the learner, no framework."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    metric = Accuracy()
    history: list[tuple[float, ...]] = []
    for _ in range(epochs):
        model.train()
        metric.reset()
        train_loss, train_count = torch.zeros((), dtype=torch.float64), 0
        for features, labels in loaders["train_loader"]:
            output = model(features)
            loss = criterion(output, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            metric.update(output.detach(), labels)
            train_loss += loss.detach().double() * labels.shape[0]
            train_count += labels.shape[0]
        train_score = metric.compute()
        model.eval()
        metric.reset()
        test_loss, test_count = torch.zeros((), dtype=torch.float64), 0
        with torch.inference_mode():
            for features, labels in loaders["test_loader"]:
                output = model(features)
                test_loss += criterion(output, labels) * labels.shape[0]
                test_count += labels.shape[0]
                metric.update(output, labels)
        values = torch.stack([train_loss, train_score, test_loss, metric.compute()]).tolist()
        history.append((values[0] / train_count, values[1], values[2] / test_count, values[3]))
    return history


def learner_run(model: nn.Module, loaders: DataBundle, epochs: int) -> list[tuple[float, ...]]:
    """The learner with its metric, progress bar and table on (output to ``os.devnull``)."""
    learner = BackwardLearner(
        n_epochs=epochs,
        optimizer_configs={
            "optimizer_class": "torch.optim.AdamW",
            "optimizer_parameters": {"lr": 1e-3},
        },
        loss="cross_entropy",
    )
    with (
        open(os.devnull, "w") as sink,
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        record = learner.train(model, loaders, metric=Accuracy(), disable_tqdm=False)
    return [
        (row["train_loss"], row["train_score"], row["test_loss"], row["test_score"])
        for row in record["history"]
    ]


def timed(
    run: Callable[..., list[tuple[float, ...]]],
    batch_size: int,
    epochs: int,
) -> tuple[float, nn.Module, list[tuple[float, ...]]]:
    """Seconds one side takes to train, its trained model and its history."""
    model, loaders = make_run(batch_size)
    start = time.process_time()
    history = run(model, loaders, epochs)
    return time.process_time() - start, model, history


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    """Whether two models hold bit-identical parameters."""
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def main() -> None:
    """Measure both sides at batch sizes 16 and 64 and print the median ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per side and size")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sizes = make_run(16)[1]
    print(
        f"torch {torch.__version__}, 1 thread, MLP {FEATURES}-{HIDDEN}-{CLASSES}, digits "
        f"({sizes.n_train} train / {sizes.n_test} test samples), {args.epochs} epochs, {args.repeats} repeats "
        "(CPU seconds of this process; target: median ratio <= 1.03 at batch 16)"
    )
    header = ("batch", "raw loop (s)", "learner (s)", "median ratio", "best ratio", "same weights")
    print("  ".join(header))
    for batch_size in (16, 64):
        timed(raw_loop, batch_size, 1)  # warm-up: imports, allocator, registry
        timed(learner_run, batch_size, 1)
        raw_times, learner_times, ratios, identical = [], [], [], True
        for repeat in range(args.repeats):
            sides = [raw_loop, learner_run] if repeat % 2 == 0 else [learner_run, raw_loop]
            results = {side: timed(side, batch_size, args.epochs) for side in sides}
            raw_s, raw_model, raw_history = results[raw_loop]
            learner_s, learner_model, learner_history = results[learner_run]
            identical &= same_weights(raw_model, learner_model) and raw_history == learner_history
            raw_times.append(raw_s)
            learner_times.append(learner_s)
            ratios.append(learner_s / raw_s)
        cells = (
            f"{batch_size:>5}",
            f"{statistics.median(raw_times):>12.3f}",
            f"{statistics.median(learner_times):>11.3f}",
            f"{statistics.median(ratios):>12.3f}",
            f"{min(learner_times) / min(raw_times):>10.3f}",
            f"{'yes' if identical else 'NO':>12}",
        )
        print("  ".join(cells))


if __name__ == "__main__":
    main()
