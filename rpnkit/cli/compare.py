"""``rpnkit compare RUN [RUN ...]``: one table of several runs, a row per run.

The table's columns are the config keys whose values differ between the runs (found by
:func:`differing_keys`, never listed by hand), the parameter count, the epochs trained, the best
validation loss (when the runs have a validation split) with the validation metrics of that
epoch, the final test loss and metrics, and the wall time. A run that was interrupted, pruned
by a sweep, or failed is a row saying so, never dropped. A sweep's directory stands for its
trials; shell-style globs are expanded. On a terminal the table is aligned; in a pipe it is TSV;
``--json`` prints a list of objects.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rpnkit.cli.table import cell_text, format_table
from rpnkit.errors import ConfigError
from rpnkit.learner.columns import metric_columns, metric_names
from rpnkit.sweep.trial import TRIAL_FILE

__all__ = [
    "RunInfo",
    "add_parsers",
    "compare_table",
    "differing_keys",
    "find_runs",
    "read_run",
    "run_labels",
    "table_layout",
]

#: Config keys that differ between runs without changing what is trained.
_IGNORED = ("output.dir", "output.overwrite", "output.loggers", "threads", "learner.resume")


def add_parsers(sub: Any) -> None:
    """Add ``compare`` to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "compare",
        help="tabulate several runs side by side",
        description="One row per run: the config keys that differ, parameters, epochs, best "
        "validation and final test numbers, wall time. RUN is a run directory, a sweep "
        "directory (its trials) or a glob.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run or sweep directories, or globs")
    p.add_argument("--sort", metavar="COLUMN", help="sort the rows by this column")
    p.add_argument("--reverse", action="store_true", help="sort in descending order")
    p.add_argument("--json", action="store_true", help="print a JSON list of rows")
    p.set_defaults(func=cmd_compare)


@dataclass
class RunInfo:
    """What ``compare`` reads of one run directory.

    Attributes
    ----------
    path
        The run's directory.
    status
        ``finished``, ``interrupted``, ``pruned``, ``failed`` or ``running``.
    config
        The run's saved config (``config.yaml``, else the one in ``history.json``).
    history
        The per-epoch history rows (empty when none were written).
    headline
        The name of the run's first metric (its history stores it as ``*_score``).
    trial
        What a sweep recorded of this trial (``trial.json``), else empty.
    """

    path: Path
    status: str
    config: dict[str, Any]
    history: list[dict[str, Any]]
    headline: str | None = None
    trial: dict[str, Any] = field(default_factory=dict)


def _is_run(path: Path) -> bool:
    return any((path / name).exists() for name in ("config.yaml", "history.json", TRIAL_FILE))


def find_runs(arguments: Iterable[str]) -> list[Path]:
    """The run directories named by ``arguments``: runs, sweep directories (their trials), globs.

    Raises
    ------
    ConfigError
        For an argument that names no run (one line naming it).
    """
    found: list[Path] = []
    for argument in arguments:
        paths = (
            [Path(p) for p in sorted(glob.glob(argument))]
            if glob.has_magic(argument)
            else [Path(argument)]
        )
        if not paths:
            raise ConfigError(f"RUN {argument!r} matches no file")
        for path in paths:
            if path.is_dir() and _is_run(path):
                found.append(path)
                continue
            trials = sorted(p for p in path.glob("trial-*") if p.is_dir()) if path.is_dir() else []
            if not trials and not glob.has_magic(argument):
                raise ConfigError(
                    f"RUN {argument!r} is not a run directory (no config.yaml or history.json) "
                    "nor a sweep directory (no trial-* directories)"
                )
            found.extend(trials)
    return list(dict.fromkeys(found))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def read_run(path: Path) -> RunInfo:
    """Read a run directory's config, history and state; a missing file is a state, not an error."""
    summary = _read_json(path / "history.json")
    trial = _read_json(path / TRIAL_FILE)
    trial = trial if isinstance(trial, dict) else {}
    config: Any = None
    try:
        config = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        config = summary.get("config") if isinstance(summary, dict) else None
    history = summary.get("history") if isinstance(summary, dict) else None
    history = [r for r in history if isinstance(r, dict)] if isinstance(history, list) else []
    if trial.get("state") in ("pruned", "failed", "running"):
        status = str(trial["state"])
    elif summary is None:
        status = "interrupted" if (path / "checkpoints").is_dir() else "failed"
    elif summary.get("partial"):
        status = "interrupted"
    else:
        status = "finished"
    config = config if isinstance(config, dict) else {}
    metrics = config.get("metric")
    first = metrics[0] if isinstance(metrics, list) and metrics else metrics
    headline = first.get("name") if isinstance(first, dict) else first
    return RunInfo(
        path, status, config, history, headline if isinstance(headline, str) else None, trial
    )


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """Dotted keys of a config; a component ``{name, parameters}`` is its name plus parameters."""
    if isinstance(value, Mapping) and "name" in value and set(value) <= {"name", "parameters"}:
        out[prefix] = value["name"]
        _flatten(value.get("parameters") or {}, prefix, out)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and any(isinstance(v, Mapping | list) for v in value):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}.{i}", out)
    else:
        out[prefix] = value


def flat_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as ``{dotted.key: value}`` (``parameters`` levels kept, as ``--set`` spells them)."""
    out: dict[str, Any] = {}
    _flatten(config, "", out)
    return {k: v for k, v in out.items() if not k.startswith(_IGNORED)}


def differing_keys(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The dotted config keys whose values are not the same in every config, in config order."""
    flats = [flat_config(c) for c in configs]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    missing = object()
    return [k for k in keys if len({json.dumps(f.get(k, missing), default=str) for f in flats}) > 1]


def short_key(key: str) -> str:
    """A dotted key without its ``parameters`` levels (``model.layers.0.expansion``)."""
    return ".".join(p for p in key.split(".") if p != "parameters")


def run_labels(runs: Sequence[RunInfo]) -> list[str]:
    """A label per run: what differs (``expansion=taylor, lr=0.01``), else the directory name."""
    keys = differing_keys([r.config for r in runs]) if len(runs) > 1 else []
    labels = []
    for run in runs:
        flat = flat_config(run.config)
        parts = [f"{short_key(k).split('.')[-1]}={cell_text(flat.get(k))}" for k in keys[:3]]
        labels.append(", ".join(parts) if parts else run.path.name)
    if len(set(labels)) < len(labels):  # the same config twice: tell them apart by directory
        labels = [f"{r.path.name}: {label}" for r, label in zip(runs, labels, strict=True)]
    return labels


def _parameters(path: Path) -> int | None:
    weights = path / "model.pt"
    if not weights.is_file():
        return None
    import torch

    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception:  # a half-written or foreign file: the count is unknown, not an error
        return None
    if not isinstance(state, Mapping):
        return None
    return sum(int(v.numel()) for v in state.values() if isinstance(v, torch.Tensor))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _best_row(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    values = [(_number(r.get("val_loss")), i) for i, r in enumerate(history)]
    present = [(v, i) for v, i in values if v is not None]
    return history[min(present)[1]] if present else None


def run_row(run: RunInfo, keys: Sequence[str]) -> dict[str, Any]:
    """The table row of one run: its differing keys, then the numbers."""
    flat = flat_config(run.config)
    row: dict[str, Any] = {"run": str(run.path), "status": run.status}
    if run.status == "failed" and run.trial.get("reason"):
        row["status"] = f"failed: {run.trial['reason']}"
    for key in keys:
        row[short_key(key)] = flat.get(key)
    row["params"] = _parameters(run.path)
    row["epochs"] = len(run.history)
    last = run.history[-1] if run.history else {}
    names = metric_names(last, run.headline) if last else []
    best = _best_row(run.history)
    if best is not None:
        row["best_epoch"] = best.get("epoch")
        row["val_loss"] = _number(best.get("val_loss"))
        for m in metric_columns(names):
            row[f"val_{m.name}"] = _number(best.get(m.test.replace("test_", "val_", 1)))
    row["test_loss"] = _number(last.get("test_loss"))
    for m in metric_columns(names):
        row[f"test_{m.name}"] = _number(last.get(m.test))
    if "value" in run.trial:
        row["objective"] = _number(run.trial.get("value"))
    seconds = [_number(r.get("seconds")) for r in run.history]
    row["seconds"] = sum(s for s in seconds if s is not None) if run.history else None
    return row


def compare_table(
    runs: Sequence[RunInfo], sort: str | None = None, reverse: bool = False
) -> tuple[list[str], list[dict[str, Any]]]:
    """The rows of ``runs`` (dicts with the same keys, in column order), sorted by ``sort``.

    Raises
    ------
    ConfigError
        For a ``sort`` column the table does not have.
    """
    keys = differing_keys([r.config for r in runs]) if len(runs) > 1 else []
    rows = [run_row(run, keys) for run in runs]
    columns = list(dict.fromkeys(k for row in rows for k in row))
    rows = [{c: row.get(c) for c in columns} for row in rows]
    if sort is not None:
        if sort not in columns:
            raise ConfigError(f"--sort {sort!r} is not a column; columns: {', '.join(columns)}")
        present = [r for r in rows if r[sort] is not None]
        absent = [r for r in rows if r[sort] is None]
        present.sort(key=lambda r: (isinstance(r[sort], str), r[sort]), reverse=reverse)
        rows = present + absent  # runs without the number go last either way
    return columns, rows


def cmd_compare(args: argparse.Namespace) -> int:
    """Print the table of the runs ``args.runs`` names."""
    runs = [read_run(p) for p in find_runs(args.runs)]
    if not runs:
        raise ConfigError(f"RUN {' '.join(args.runs)!r} names no run directory")
    columns, rows = compare_table(runs, args.sort, args.reverse)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        sys.stdout.write(format_table(columns, rows, **table_layout(args.sort)))
    return 0


def table_layout(sort: str | None) -> dict[str, Any]:
    """How to print a run table on this process's stdout: TSV in a pipe; on a terminal aligned
    and fitted to its width, keeping the ``sort`` column."""
    tty = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if tty else None
    return {"tsv": not tty, "width": width, "keep": [sort] if sort else []}
