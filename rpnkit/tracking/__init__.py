"""Experiment tracking: loggers are plugins on the training hooks.

The ``logger`` registry group holds them; rpnkit's builtins are ``csv``
(:class:`~rpnkit.tracking.csv_logger.CSVLogger`), ``tensorboard``
(:class:`~rpnkit.tracking.tensorboard_logger.TensorBoardLogger`) and ``mlflow``
(:class:`~rpnkit.tracking.mlflow_logger.MLflowLogger`). A learner takes them as
``BackwardLearner(loggers=[...])`` and a config as ``output: {loggers: [...]}``; they run on the
main process only. Any object with ``@rpnkit.hookimpl`` training hooks is a logger;
:class:`~rpnkit.tracking.base.Logger` is a convenient base.
"""

from __future__ import annotations

from rpnkit.tracking.base import Logger, epoch_scalars
from rpnkit.tracking.resolve import resolve_loggers

__all__ = ["Logger", "epoch_scalars", "resolve_loggers"]
