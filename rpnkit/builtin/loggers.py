"""Builtin plugin: the ``logger`` group and rpnkit's loggers (:mod:`rpnkit.tracking`).

Targets are ``module:attr`` strings: listing the loggers imports neither TensorBoard nor
MLflow, and a logger whose optional dependency is missing fails only when it is built, with a
one-line error naming the extra to install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.components.registry import Registry

# (canonical name, target, aliases, summary)
LOGGERS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("csv", "rpnkit.tracking.csv_logger:CSVLogger", (),
     "The history rows in a CSV file (history.csv), rewritten after every epoch"),
    ("tensorboard", "rpnkit.tracking.tensorboard_logger:TensorBoardLogger", ("tb",),
     "TensorBoard event files under the run directory (extra: tensorboard)"),
    ("mlflow", "rpnkit.tracking.mlflow_logger:MLflowLogger", (),
     "An MLflow run in a local file store under the run directory (extra: mlflow)"),
)  # fmt: skip


@hookimpl(tryfirst=True)
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the ``logger`` group (a dotted path may name a ``Logger`` subclass)."""
    registry.add_group(
        "logger",
        "Experiment loggers: plugins on the training hooks that record every epoch",
        kinds=("rpnkit.tracking.base:Logger",),
    )


@hookimpl(tryfirst=True)
def rpnkit_add_components(registry: Registry) -> None:
    """Register the csv, tensorboard and mlflow loggers by name."""
    for name, target, aliases, summary in LOGGERS:
        registry.register("logger", name, target, summary=summary, aliases=aliases)
