"""Tiny runs trained through the real CLI for the inference tests (a CSV with string labels)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

CLASSES = ("rose", "tulip", "daisy")
FEATURES = ("petal", "sepal", "width")


def rpnkit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rpnkit ARGS`` in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "rpnkit", *args], cwd=cwd, capture_output=True, text=True
    )


def write_flowers(path: Path, rows: int = 60, seed: int = 0) -> None:
    """A CSV whose target ``species`` holds strings and follows the features."""
    draw = random.Random(seed)
    lines = [",".join((*FEATURES, "species"))]
    for i in range(rows):
        k = i % 3
        lines.append(
            f"{k + draw.random():.3f},{2 * draw.random():.3f},{10 * k + draw.random():.3f},"
            f"{CLASSES[k]}"
        )
    path.write_text("\n".join(lines) + "\n")


MODELS = {
    "rpn": "{name: rpn, parameters: {layers: [{m: 3, n: 3, expansion: {name: taylor, "
    "parameters: {d: 2}}, reconciliation: identity}]}}",
    "mlp": "{name: perceptron, parameters: {dims: [3, 8, 3]}}",
}


def train(folder: Path, model: str = "rpn") -> Path:
    """Train ``model`` for two epochs on ``flowers.csv`` in ``folder``; return the run dir."""
    folder.mkdir(parents=True, exist_ok=True)
    write_flowers(folder / "flowers.csv")
    (folder / "config.yaml").write_text(
        "seed: 0\n"
        "data: {name: csv, parameters: {path: flowers.csv, target: species, batch_size: 8}}\n"
        f"model: {MODELS[model]}\n"
        "learner: {n_epochs: 2, optimizer: {name: adam, parameters: {lr: 0.01}}}\n"
        "metric: [accuracy, {name: f1, parameters: {average: macro}}]\n"
        "output: {dir: run}\n"
    )
    done = rpnkit(folder, "train", "config.yaml", "--quiet")
    assert done.returncode == 0, done.stderr
    return folder / "run"
