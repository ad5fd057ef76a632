"""The learner uses the ``tm.*`` metrics by name, like its builtins."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

learner = pytest.importorskip("rpnkit.learner")


def _loaders(regression: bool) -> dict[str, DataLoader[tuple[torch.Tensor, ...]]]:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(96, 5, generator=generator)
    if regression:
        labels = features[:, :1] - 2 * features[:, 1:2]
    else:
        labels = (features[:, 0] > 0).long() + (features[:, 1] > 0).long()
    train = TensorDataset(features[:64], labels[:64])
    test = TensorDataset(features[64:], labels[64:])
    return {
        "train_loader": DataLoader(train, batch_size=16, shuffle=True, generator=generator),
        "test_loader": DataLoader(test, batch_size=16),
    }


MACRO_F1 = {"name": "tm.f1_score", "parameters": {"average": "macro"}}


@pytest.mark.parametrize(
    ("outputs", "loss", "metrics", "pairs"),
    [
        (
            3,
            "cross_entropy",
            ["tm.accuracy", "accuracy", MACRO_F1, "f1"],
            [("tm.accuracy", "accuracy"), ("tm.f1_score", "f1")],
        ),
        (
            1,
            "mse",
            ["tm.r2_score", "r2", "tm.mae", "mae"],
            [("tm.r2_score", "r2"), ("tm.mean_absolute_error", "mae")],
        ),
    ],
)
def test_history_scores_match_the_builtin_metrics(
    outputs: int, loss: str, metrics: list[object], pairs: list[tuple[str, str]]
) -> None:
    torch.manual_seed(0)
    trainer = learner.BackwardLearner(
        n_epochs=2,
        optimizer={"name": "adam", "parameters": {"lr": 0.05}},
        loss=loss,
        verbose=False,
    )
    record = trainer.train(
        nn.Linear(5, outputs),
        _loaders(regression=outputs == 1),
        metric=metrics,
        disable_tqdm=True,
    )
    for row in record["history"]:
        for (ours, builtin), split in itertools.product(pairs, ("train", "test")):
            assert math.isfinite(row[f"{split}_{ours}"])
            assert row[f"{split}_{ours}"] == pytest.approx(row[f"{split}_{builtin}"], abs=1e-6)
