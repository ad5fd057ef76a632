"""``rpnkit plot``: a run's curves from its ``history.json``, one panel per metric.

The first panel holds the train and test losses (``--log``: on a log scale); every metric
gets its own panel, titled with its name (``accuracy``, ``f1``, ``r2``). A metric that merely
copies the loss (``mse`` beside an MSE loss) is not drawn twice (:mod:`rpnkit.learner.columns`).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from rpnkit.errors import ConfigError
from rpnkit.learner.columns import copies_loss, metric_columns, metric_names


def add_parsers(sub: Any) -> None:
    """Add ``plot`` to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "plot",
        help="plot the loss and metric curves of a run",
        description="Plot the train/test loss and every metric from history.json, one panel "
        "per metric (needs matplotlib).",
    )
    p.add_argument("--log", action="store_true", help="draw the losses on a log scale")
    p.add_argument("history", metavar="HISTORY", help="history.json, or the run's output dir")
    p.add_argument("-o", "--output", default="curves.png", help="image file (default curves.png)")
    p.set_defaults(func=cmd_plot)


def read_history(path: str | Path) -> list[dict[str, Any]]:
    """Read the per-epoch history rows of a run (``history.json`` or its directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / "history.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"HISTORY {str(path)!r} cannot be read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"HISTORY {str(path)!r} is not JSON: {exc.msg} (line {exc.lineno})"
        ) from None
    rows = data.get("history") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        raise ConfigError(f"HISTORY {str(path)!r} has no per-epoch 'history' rows")
    return rows


def headline_name(path: str | Path) -> str | None:
    """The first metric's name in the run's saved config (a single metric's history rows
    store it as ``*_score``, without its name)."""
    path = Path(path)
    if path.is_dir():
        path = path / "history.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    config = data.get("config") if isinstance(data, dict) else None
    metrics = config.get("metric") if isinstance(config, dict) else None
    first = metrics[0] if isinstance(metrics, list) and metrics else metrics
    name = first.get("name") if isinstance(first, dict) else first
    return name if isinstance(name, str) else None


def _values(rows: list[dict[str, Any]], key: str) -> list[float]:
    return [math.nan if row.get(key) is None else float(row[key]) for row in rows]


def cmd_plot(args: argparse.Namespace) -> int:
    """Draw the curves into ``args.output``."""
    rows = read_history(args.history)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(
            "rpnkit plot needs matplotlib; install it with: pip install 'rpnkit[plot]'"
        ) from None
    epochs = [row.get("epoch", i) for i, row in enumerate(rows)]
    names = metric_names(rows[0], headline_name(args.history))
    metrics = [m for m in metric_columns(names) if not copies_loss(rows, m)]
    panels = [("loss", "train_loss", "test_loss")] + [(m.name, m.train, m.test) for m in metrics]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4), squeeze=False)
    for ax, (title, train, test) in zip(axes[0], panels, strict=True):
        for key, split in ((train, "train"), (test, "test")):
            values = _values(rows, key)
            if not all(math.isnan(v) for v in values):
                ax.plot(epochs, values, marker="o", markersize=3, label=f"{split} {title}")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(title)
        if title == "loss" and args.log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    out = Path(args.output)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out}")
    return 0
