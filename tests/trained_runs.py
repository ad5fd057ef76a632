"""Tiny runs trained through the real CLI, for the tests of predict, evaluate and export.

Each helper writes its own data file (seeded, a few dozen rows) and config, then runs
``python -m rpnkit train`` in a fresh interpreter; the run directory is returned.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from tests.conftest import run_rpnkit

#: The class names of :func:`write_colours`, as the file spells them.
COLOURS = ("red", "green", "blue")
FEATURES = ("a", "b", "c")


def features(n: int, seed: int = 0) -> np.ndarray:
    """Seeded raw features with a scale and offset, so standardisation matters."""
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(size=(n, 3)) * [1.0, 3.0, 0.5] + [5.0, -2.0, 0.0], 4)


def write_table(
    path: Path, x: np.ndarray, columns: list[str], extra: list[str] | None = None
) -> Path:
    """Write ``x`` (and an extra text column) as a CSV with the header ``columns``."""
    lines = [",".join(columns)]
    for i, row in enumerate(x.tolist()):
        cells = [str(v) for v in row] + ([extra[i]] if extra is not None else [])
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def colour_of(x: np.ndarray) -> list[str]:
    """The label of each row: which standardised feature is largest."""
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    return [COLOURS[i] for i in np.argmax(z, axis=1)]


def write_colours(path: Path, n: int = 60) -> Path:
    """A classification CSV: features ``a, b, c`` and a text label column ``colour``."""
    x = features(n)
    return write_table(path, x, [*FEATURES, "colour"], colour_of(x))


def write_sums(path: Path, n: int = 48) -> Path:
    """A regression CSV: features ``a, b, c`` and the numeric target ``total``."""
    x = features(n, seed=1)
    total = [f"{v:.4f}" for v in x @ np.array([1.0, 0.5, -2.0])]
    return write_table(path, x, [*FEATURES, "total"], total)


def rpn_layers(n_out: int) -> list[dict[str, object]]:
    """A small two-layer RPN in the style of ``configs/digits.yaml``."""
    return [
        {
            "m": 3,
            "n": 6,
            "expansion": {"name": "gaussian_rbf", "parameters": {"num_interval": 4}},
            "reconciliation": {"name": "low_rank", "parameters": {"r": 2}},
            "remainder": "linear",
        },
        {
            "m": 6,
            "n": n_out,
            "expansion": {"name": "taylor", "parameters": {"d": 2}},
            "reconciliation": "identity",
            "remainder": "zero",
        },
    ]


def train(
    folder: Path,
    data_file: Path,
    target: str,
    model: dict[str, object],
    *,
    loss: str = "cross_entropy",
    metric: object = "accuracy",
    pythonpath: Path | None = None,
) -> Path:
    """Train for two epochs through ``python -m rpnkit train``; return the run directory."""
    out = folder / "run"
    config = {
        "seed": 0,
        "device": "cpu",
        "data": {
            "name": "csv",
            "parameters": {"path": str(data_file), "target": target, "batch_size": 16},
        },
        "model": model,
        "learner": {
            "n_epochs": 2,
            "loss": loss,
            "optimizer": {"name": "adam", "parameters": {"lr": 0.01}},
        },
        "metric": metric,
        "output": {"dir": str(out)},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    # a model module of the user's own (on PYTHONPATH) is code: importing it needs the opt-in
    trust = ("--trust-code",) if pythonpath is not None else ()
    done = run_rpnkit("train", str(path), "--quiet", *trust, pythonpath=pythonpath)
    assert done.returncode == 0, done.stderr
    return out


def last_epoch(run: Path) -> dict[str, float]:
    """The last row of the run's ``history.json``."""
    history: list[dict[str, float]] = json.loads((run / "history.json").read_text())["history"]
    return history[-1]
