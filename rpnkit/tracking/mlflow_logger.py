"""The ``mlflow`` logger: an MLflow run in a local file store under the run directory.

Needs MLflow (``pip install 'rpnkit[mlflow]'``, which installs ``mlflow-skinny``). By default
the tracking store is ``directory/mlruns``, a plain folder that ``mlflow ui --backend-store-uri
RUN_DIR/mlruns`` reads, so nothing reaches a server; give ``tracking_uri`` to log elsewhere.
MLflow (3.13 and later) keeps its file store in maintenance mode behind the environment
variable ``MLFLOW_ALLOW_FILE_STORE``, and has no other way to allow it. The logger never
changes the environment: the ``rpnkit`` command sets the variable for its own process
(:func:`allow_file_store`, unless it is set already), and a Python program sets it itself
before training, or gives a ``tracking_uri`` of another store.

The run records a few parameters of the training (epochs, optimizer, learning rate, model
class and size, loss, metrics) and, after every epoch, the history numbers at step
``epoch`` (:func:`~rpnkit.tracking.base.epoch_scalars`). It ends ``FINISHED``, or ``FAILED``
when training raised or was interrupted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from rpnkit.errors import ConfigError
from rpnkit.tracking.base import Logger, require_extra

if TYPE_CHECKING:
    from rpnkit.learner.context import TrainContext

__all__ = ["FILE_STORE_VARIABLE", "MLflowLogger", "allow_file_store"]

#: MLflow's switch for its file store (``true`` allows it).
FILE_STORE_VARIABLE = "MLFLOW_ALLOW_FILE_STORE"


def allow_file_store(environ: MutableMapping[str, str] | None = None) -> bool:
    """Set ``MLFLOW_ALLOW_FILE_STORE=true`` unless it is set: for the ``rpnkit`` command only.

    Parameters
    ----------
    environ
        The environment to change (default: :data:`os.environ`).

    Returns
    -------
    bool
        Whether the variable was set (a value the user chose is left alone).
    """
    environ = os.environ if environ is None else environ
    if FILE_STORE_VARIABLE in environ:
        return False
    environ[FILE_STORE_VARIABLE] = "true"
    return True


class MLflowLogger(Logger):
    """Log the run to MLflow.

    Parameters
    ----------
    directory
        The run's folder; the default store is ``directory/mlruns``.
    experiment
        The MLflow experiment (created when missing).
    run_name
        The MLflow run's name (``None``: MLflow picks one).
    tracking_uri
        Another tracking store (``sqlite:///...``, ``http://...``); ``None``: the local file
        store.
    log_every_n_steps
        Also log ``train/step_loss`` and ``step/lr`` every this many training steps.

    Raises
    ------
    ConfigError
        If MLflow is not installed (naming the extra to install) or an argument is not a
        string.
    """

    name = "mlflow"

    def __init__(
        self,
        directory: str | os.PathLike[str] = ".",
        experiment: str = "rpnkit",
        run_name: str | None = None,
        tracking_uri: str | None = None,
        log_every_n_steps: int | None = None,
    ) -> None:
        super().__init__(directory, log_every_n_steps)
        for field, value in (("experiment", experiment), ("run_name", run_name)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(
                    f"logger 'mlflow' {field} must be a non-empty string, got {value!r}"
                )
        if tracking_uri is not None and not isinstance(tracking_uri, str):
            raise ConfigError(
                f"logger 'mlflow' tracking_uri must be a string, got {tracking_uri!r}"
            )
        require_extra("mlflow", self.name, "mlflow")
        self.experiment = experiment
        self.run_name = run_name
        self.tracking_uri = tracking_uri or (self.directory / "mlruns").resolve().as_uri()
        self.run_id: str | None = None
        self._client: Any = None

    def _store(self) -> Any:
        """The MLflow client of the tracking store, created once.

        Raises
        ------
        ConfigError
            When MLflow refuses its file store because ``MLFLOW_ALLOW_FILE_STORE`` is not set.
        """
        if self._client is None:
            from mlflow.tracking import MlflowClient

            try:
                self._client = MlflowClient(tracking_uri=self.tracking_uri)
            except Exception as exc:
                if FILE_STORE_VARIABLE not in str(exc):
                    raise
                raise ConfigError(
                    f"logger 'mlflow': MLflow refuses the file store {self.tracking_uri} "
                    f"unless {FILE_STORE_VARIABLE}=true is set; set it before training (the "
                    "rpnkit command does) or give tracking_uri (e.g. sqlite:///mlflow.db)"
                ) from exc
        return self._client

    def open(self, context: TrainContext) -> None:
        """Create the experiment if needed, start the run and record its parameters."""
        from mlflow.entities import Param

        client = self._store()
        found = client.get_experiment_by_name(self.experiment)
        experiment_id = (
            found.experiment_id if found is not None else client.create_experiment(self.experiment)
        )
        run = client.create_run(experiment_id, run_name=self.run_name)
        self.run_id = run.info.run_id
        params = _parameters(context)
        client.log_batch(self.run_id, params=[Param(k, v) for k, v in params.items()])

    def log(self, scalars: Mapping[str, float], epoch: int, context: TrainContext) -> None:
        """Log the epoch's numbers at step ``epoch``."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, epoch) for key, value in scalars.items()]
        self._store().log_batch(self.run_id, metrics=metrics)

    def log_step(self, scalars: Mapping[str, float], step: int, context: TrainContext) -> None:
        """Log a training step's numbers at MLflow step ``step`` (``train/step_loss``, ...)."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [
            Metric(key if key != "lr" else "step/lr", value, now, step)
            for key, value in scalars.items()
        ]
        self._store().log_batch(self.run_id, metrics=metrics)

    def finish(self, completed: bool) -> None:
        """End the MLflow run, ``FINISHED`` or ``FAILED``."""
        self._store().set_terminated(self.run_id, status="FINISHED" if completed else "FAILED")


def _parameters(context: TrainContext) -> dict[str, str]:
    """What the MLflow run records about the training, as strings."""
    lr = context.optimizer.param_groups[0]["lr"]
    loss = context.loss
    return {
        "n_epochs": str(context.n_epochs),
        "optimizer": type(context.optimizer).__name__,
        "lr": str(float(lr)),
        "model": type(context.model).__name__,
        "parameters": str(sum(p.numel() for p in context.model.parameters())),
        "loss": "auto" if loss is None else type(loss).__name__,
        "metrics": ",".join(m.name for m in context.metrics) or "none",
        "world_size": str(context.world_size),
    }
