"""A sweep's result: ``sweep.csv``, the importance of each searched key, and ``sweep.png``.

``sweep.csv`` has a row per counted trial (number, state, objective value, each searched key's
value, the run directory, the reason of a failed or pruned trial). Importances are Optuna's
(:func:`optuna.importance.get_param_importances`), computed over the complete trials when
there are at least two and more than one value was tried. ``sweep.png`` draws the objective
per trial (the best so far as a line) and per value of the most important key.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna

from rpnkit.atomic import atomic_open
from rpnkit.sweep.objective import Objective
from rpnkit.sweep.study import counted

__all__ = ["decode", "importances", "plot_sweep", "write_csv"]


def decode(value: Any) -> Any:
    """A trial parameter as the config value it stands for (choices are stored as JSON)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def trials_of(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's counted trials, in order."""
    return [t for t in study.get_trials(deepcopy=False) if counted(t)]


def write_csv(study: optuna.Study, keys: Sequence[str], path: Path) -> None:
    """Write ``sweep.csv``: a row per counted trial."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["trial", "state", "value", *keys, "dir", "reason"])
    for t in trials_of(study):
        params = [json.dumps(decode(t.params.get(k))) for k in keys]
        state = str(t.user_attrs.get("state", t.state.name.lower()))
        value = "" if t.value is None else repr(t.value)
        reason = t.user_attrs.get("reason") or ""
        writer.writerow([t.number, state, value, *params, t.user_attrs.get("dir", ""), reason])
    with atomic_open(path) as file:
        file.write(buffer.getvalue().encode())


def importances(study: optuna.Study) -> dict[str, float]:
    """Optuna's importance of each searched key (empty when it cannot be told yet)."""
    complete = [t for t in trials_of(study) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2 or len({json.dumps(t.params, sort_keys=True) for t in complete}) < 2:
        return {}
    if len(complete[0].params) == 1:
        return {next(iter(complete[0].params)): 1.0}
    try:
        found = optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError):
        return {}
    return {k: float(v) for k, v in found.items()}


def plot_sweep(
    study: optuna.Study,
    objective: Objective,
    importance: Mapping[str, float],
    keys: Sequence[str],
    path: Path,
) -> str | None:
    """Draw ``sweep.png``; return ``None``, or why it was not drawn (no trial has a value, or
    matplotlib is missing)."""
    done = [t for t in trials_of(study) if t.value is not None and not math.isnan(t.value)]
    if not done:
        return "no trial has an objective value to draw"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "it needs matplotlib; install it with: pip install 'rpnkit[plot]'"
    key = max(importance, key=lambda k: importance[k]) if importance else keys[0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"complete": "tab:blue", "pruned": "tab:orange"}
    for t in done:
        state = str(t.user_attrs.get("state", "complete"))
        left.scatter(t.number, t.value, color=colours.get(state, "tab:red"), s=22)
    pick = min if objective.direction == "minimize" else max
    complete = sorted(
        (t for t in done if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: t.number
    )
    best: list[float] = []
    for t in complete:
        value = float(t.value) if t.value is not None else math.nan
        best.append(value if not best else pick(best[-1], value))
    left.step([t.number for t in complete], best, where="post", color="tab:green", label="best")
    left.set_xlabel("trial")
    left.set_ylabel(objective.name)
    left.set_title(f"{objective.name} per trial (orange: pruned)")
    left.grid(alpha=0.3)
    left.legend()
    values = [json.dumps(decode(t.params.get(key))) for t in complete]
    labels = list(dict.fromkeys(values))
    for i, label in enumerate(labels):
        ys = [t.value for t, v in zip(complete, values, strict=True) if v == label]
        right.scatter([i] * len(ys), ys, color="tab:blue", s=22)
    right.set_xticks(range(len(labels)), [x.strip('"')[:18] for x in labels], rotation=30)
    share = f" (importance {importance[key]:.2f})" if key in importance else ""
    right.set_title(f"{objective.name} per value of {key.split('.')[-1]}{share}")
    right.set_ylabel(objective.name)
    right.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
