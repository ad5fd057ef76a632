"""``rpnkit plot``: loss and score curves from a run's ``history.json``."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from rpnkit.errors import ConfigError

#: (history key, label) of the curves, train and test, for each panel.
PANELS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("loss", (("train_loss", "train"), ("test_loss", "test"))),
    ("score", (("train_score", "train"), ("test_score", "test"))),
)


def add_parsers(sub: Any) -> None:
    """Add ``plot`` to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "plot",
        help="plot loss and score curves of a run",
        description="Plot train/test loss and score curves from history.json (needs matplotlib).",
    )
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
    fig, axes = plt.subplots(1, len(PANELS), figsize=(10, 4))
    for ax, (title, curves) in zip(axes, PANELS, strict=True):
        for key, label in curves:
            values = _values(rows, key)
            if not all(math.isnan(v) for v in values):
                ax.plot(epochs, values, marker="o", markersize=3, label=label)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    out = Path(args.output)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out}")
    return 0
