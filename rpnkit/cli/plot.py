"""``rpnkit plot RUN [RUN ...]``: the curves of runs from their ``history.json``, one panel per metric.

The first panel holds the train and test losses (and validation, when the run has it;
``--log``: on a log scale); every metric gets its own panel, titled with its name
(``accuracy``, ``f1``, ``r2``). A metric that merely copies the loss (``mse`` beside an MSE loss)
is not drawn twice (:mod:`rpnkit.learner.columns`). With several runs the same panels overlay
them: one colour per run, labelled by the config keys that differ between the runs
(:func:`rpnkit.cli.compare.run_labels`); the line style tells the split (train dashed,
validation dotted, test solid).
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
        "per metric; several runs are overlaid, one colour per run (needs matplotlib).",
    )
    p.add_argument("--log", action="store_true", help="draw the losses on a log scale")
    p.add_argument(
        "history",
        nargs="+",
        metavar="RUN",
        help="history.json or a run's output dir; several runs (or a sweep dir) overlay",
    )
    p.add_argument("-o", "--output", default=None, help="image file (default curves.png)")
    p.add_argument(
        "--confusion",
        action="store_true",
        help="draw the confusion matrix of one classification run on its test split instead "
        "(rebuilds its dataset; default image confusion.png)",
    )
    p.add_argument(
        "--checkpoint",
        choices=("best", "last"),
        default="last",
        help="with --confusion: the run's last weights (model.pt) or its best (best.pt)",
    )
    p.add_argument(
        "--device", default="cpu", help="with --confusion: where the model runs (default cpu)"
    )
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


_STYLES = {"train": "--", "val": ":", "test": "-"}


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(
            "rpnkit plot needs matplotlib; install it with: pip install 'rpnkit[plot]'"
        ) from None
    return plt


def cmd_plot(args: argparse.Namespace) -> int:
    """Draw the curves of one run, or of several overlaid, into ``args.output``."""
    if args.confusion:
        return _plot_confusion(args)
    args.output = args.output or "curves.png"
    if len(args.history) == 1 and not _is_sweep(Path(args.history[0])):
        return _plot_one(args, args.history[0])
    from rpnkit.cli.compare import find_runs, read_run, run_labels

    runs = [read_run(p) for p in find_runs(args.history)]
    runs = [r for r in runs if r.history]
    if not runs:
        raise ConfigError(f"RUN {' '.join(args.history)!r}: no run has per-epoch history rows")
    labels = run_labels(runs)
    panels: dict[str, list[tuple[str, str]]] = {"loss": []}
    for run in runs:
        names = metric_names(run.history[0], run.headline)
        for m in metric_columns(names):
            if not copies_loss(run.history, m):
                panels.setdefault(m.name, [])
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 4.2), squeeze=False)
    colours = plt.get_cmap("tab10" if len(runs) <= 10 else "tab20")
    for ax, title in zip(axes[0], panels, strict=True):
        for i, (run, label) in enumerate(zip(runs, labels, strict=True)):
            columns = {
                m.name: m for m in metric_columns(metric_names(run.history[0], run.headline))
            }
            if title == "loss":
                keys = {"train": "train_loss", "val": "val_loss", "test": "test_loss"}
            elif title in columns:
                test_key = columns[title].test
                keys = {
                    "train": columns[title].train,
                    "val": test_key.replace("test_", "val_", 1),
                    "test": test_key,
                }
            else:
                continue
            epochs = [row.get("epoch", j) for j, row in enumerate(run.history)]
            for split, key in keys.items():
                values = _values(run.history, key)
                if all(math.isnan(v) for v in values):
                    continue
                ax.plot(
                    epochs,
                    values,
                    linestyle=_STYLES[split],
                    color=colours(i % colours.N),
                    label=label if split == "test" else None,
                )
        ax.set_title(f"{title} (train --, val ··, test —)" if title == "loss" else title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(title)
        if title == "loss" and args.log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(len(runs), 3), fontsize="small")
    fig.tight_layout(rect=(0, 0.06 * math.ceil(len(runs) / 3), 1, 1))
    out = Path(args.output)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out} ({len(runs)} runs)")
    return 0


def _is_sweep(path: Path) -> bool:
    return path.is_dir() and not (path / "history.json").exists() and any(path.glob("trial-*"))


def _plot_one(args: argparse.Namespace, history: str) -> int:
    rows = read_history(history)
    plt = _pyplot()
    epochs = [row.get("epoch", i) for i, row in enumerate(rows)]
    names = metric_names(rows[0], headline_name(history))
    metrics = [m for m in metric_columns(names) if not copies_loss(rows, m)]
    panels = [("loss", "train_loss", "test_loss")] + [(m.name, m.train, m.test) for m in metrics]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4), squeeze=False)
    for ax, (title, train, test) in zip(axes[0], panels, strict=True):
        val = test.replace("test_", "val_", 1)
        for key, split in ((train, "train"), (val, "val"), (test, "test")):
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


def _plot_confusion(args: argparse.Namespace) -> int:
    """Draw the confusion matrix of one run's test split into ``args.output``."""
    from rpnkit.inference.confusion import run_confusion
    from rpnkit.inference.run import load_run

    if len(args.history) != 1:
        raise ConfigError(f"--confusion takes one RUN, got {len(args.history)}")
    run = load_run(args.history[0], device=args.device, checkpoint=args.checkpoint)
    matrix, classes = run_confusion(run)
    counts = matrix.cpu().numpy()
    plt = _pyplot()
    size = max(4.0, 0.45 * len(classes) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=45 if max(map(len, classes)) > 3 else 0, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    correct = int(counts.trace())
    total = int(counts.sum())
    ax.set_title(f"confusion ({args.checkpoint} weights): {correct}/{total} correct")
    if len(classes) <= 20:
        threshold = counts.max() / 2 if counts.size else 0
        for i in ticks:
            for j in ticks:
                colour = "white" if counts[i, j] > threshold else "black"
                ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", color=colour,
                        fontsize="small")  # fmt: skip
    fig.tight_layout()
    out = Path(args.output or "confusion.png")
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out} ({len(classes)} classes, {total} test samples)")
    return 0
