"""Scheduler horizons that follow the run: ``T_max: auto``, and a warning for a short horizon.

A cosine schedule laid out for 15 epochs in a run of 40 reaches its minimum at epoch 15 and
climbs back; a one-cycle schedule shorter than the run stops it with torch's error. With
``T_max: auto`` (cosine), ``total_iters: auto`` (linear, constant, polynomial) the horizon is
the run's ``learner.n_epochs``; with ``total_steps: auto`` (one-cycle) the learner infers it from
the loader and ``n_epochs``. A horizon given as a number that is shorter than the run is said
once, as a warning (:func:`resolve_horizons`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rpnkit.errors import ConfigError
from rpnkit.run.config import RunConfig

__all__ = ["resolve_horizons"]


def resolve_horizons(config: RunConfig) -> tuple[RunConfig, list[str]]:
    """``config`` with its scheduler's ``auto`` horizon resolved, and the warnings to give.

    Returns
    -------
    tuple
        The config (a copy when something was resolved) and one line per scheduler whose
        horizon is shorter than ``learner.n_epochs``.

    Raises
    ------
    ConfigError
        For ``auto`` where the scheduler steps per batch and the horizon is in steps.
    """
    import torch.optim.lr_scheduler as schedulers

    from rpnkit.plugins.state import get_registry

    spec = config.lr_scheduler
    n_epochs = config.learner.get("n_epochs", 100)
    if spec is None or not isinstance(n_epochs, int):
        return config, []
    try:
        cls: Any = get_registry().get("lr_scheduler", spec["name"])
    except Exception:  # an unknown name is reported where the scheduler is built
        return config, []
    per_step = config.learner.get("lr_scheduler_interval") == "step"
    parameters = dict(spec["parameters"])
    name, notes = spec["name"], []
    key = None
    if isinstance(cls, type) and issubclass(cls, schedulers.CosineAnnealingLR):
        key = "T_max"
    elif isinstance(cls, type) and issubclass(
        cls, (schedulers.LinearLR, schedulers.ConstantLR, schedulers.PolynomialLR)
    ):
        key = "total_iters"
    if isinstance(cls, type) and issubclass(cls, schedulers.OneCycleLR):
        if parameters.get("total_steps") == "auto":
            del parameters["total_steps"]  # the learner infers it from the loader and n_epochs
        epochs = parameters.get("epochs")
        if isinstance(epochs, int) and epochs < n_epochs:
            notes.append(
                f"lr_scheduler {name!r}: epochs={epochs} is shorter than learner.n_epochs="
                f"{n_epochs}; the schedule ends before the run (leave epochs and total_steps "
                "out, or give total_steps: auto, to follow the run)"
            )
    elif key is not None:
        value = parameters.get(key)
        if value == "auto":
            if per_step:
                raise ConfigError(
                    f"lr_scheduler {name!r}: {key}: auto follows learner.n_epochs, but the "
                    "scheduler steps every batch (lr_scheduler_interval: step); give "
                    f"{key} in steps"
                )
            parameters[key] = n_epochs
        elif isinstance(value, int) and not per_step and value < n_epochs and key == "T_max":
            notes.append(
                f"lr_scheduler {name!r}: T_max={value} is shorter than learner.n_epochs="
                f"{n_epochs}; the lr reaches its minimum at epoch {value} and climbs back "
                "(T_max: auto follows n_epochs)"
            )
    if parameters == spec["parameters"]:
        return config, notes
    return replace(config, lr_scheduler={**spec, "parameters": parameters}), notes
