"""A finished run loaded back: its config, its model in eval mode and a ``predict`` helper.

:func:`load_run` reads a run directory written by ``rpnkit train``: ``config.yaml`` (the
resolved config), ``model.pt`` (the weights) and ``preprocessing.json`` (the training split's
standardisation and the class names). It refuses, in one line each, a folder that is not a
run, a run that saved no model, and a run that did not finish: one interrupted by Ctrl-C or
SIGTERM (``history.json`` marked partial; resume it first) or killed while writing its files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rpnkit.atomic import TEMPORARY_SUFFIX
from rpnkit.errors import ConfigError, RpnkitError, one_line
from rpnkit.inference.inputs import read_input
from rpnkit.inference.predictions import Predictions, make_predictions
from rpnkit.inference.preprocessing import PREPROCESSING_FILE, Preprocessing
from rpnkit.learner.device import resolve_device
from rpnkit.plugins.state import get_registry
from rpnkit.run.config import RunConfig, load_config
from rpnkit.run.outputs import killed_run

__all__ = ["LoadedRun", "load_run"]

_NUMPY_DATASETS = ("npz", "npy")


@dataclass
class LoadedRun:
    """A trained run, ready to predict.

    Attributes
    ----------
    run_dir
        The run directory.
    config
        The run's resolved config (``config.yaml``).
    model
        The trained model, in eval mode on ``device``.
    preprocessing
        How inputs are prepared and outputs named (``preprocessing.json``).
    device
        Where the model runs.
    checkpoint
        The weights loaded: ``"last"`` (``model.pt``) or ``"best"`` (``best.pt``).
    """

    run_dir: Path
    config: RunConfig
    model: nn.Module
    preprocessing: Preprocessing
    device: torch.device
    checkpoint: str = "last"

    @property
    def target(self) -> str | None:
        """The training data's target column (or label array), when the config names one."""
        parameters = self.config.data["parameters"]
        key = "labels" if self.config.data["name"] in _NUMPY_DATASETS else "target"
        value = parameters.get(key, "y" if key == "labels" else None)
        return value if isinstance(value, str) else None

    def read(self, path: str | os.PathLike[str], *, labels: bool = False) -> Any:
        """Read a file of raw features (and with ``labels`` targets) for this run."""
        parameters = self.config.data["parameters"]
        numpy_data = self.config.data["name"] in _NUMPY_DATASETS
        array = parameters.get("features") if numpy_data else None
        delimiter = parameters.get("delimiter") if self.config.data["name"] == "csv" else None
        return read_input(
            path,
            self.preprocessing,
            target=self.target,
            labels=labels,
            array=array if isinstance(array, str) else None,
            delimiter=delimiter if isinstance(delimiter, str) else None,
        )

    def features(self, x: Tensor | np.ndarray | str | os.PathLike[str]) -> Tensor:
        """Raw features of shape ``(n, in_features)`` from a tensor, an array or a file."""
        if isinstance(x, str | os.PathLike):
            return torch.from_numpy(self.read(x).features)
        if isinstance(x, np.ndarray):
            if x.dtype.kind not in "biuf":
                raise ConfigError(f"predict takes numeric features, got an array of {x.dtype}")
            x = torch.from_numpy(np.ascontiguousarray(x))
        if not isinstance(x, Tensor):
            raise ConfigError(
                f"predict takes a tensor, a NumPy array or a file path, got {type(x).__name__}"
            )
        if x.is_complex() or x.dtype == torch.bool or x.ndim == 0:
            raise ConfigError(
                f"predict takes real features of shape (n, in_features), got {x.dtype} of "
                f"shape {tuple(x.shape)}"
            )
        x = x.reshape(len(x), -1) if x.ndim != 2 else x
        width = self.preprocessing.in_features
        if width is not None and x.shape[1] != width:
            raise ConfigError(
                f"predict: the inputs have {x.shape[1]} feature(s) per row; the run's model "
                f"takes {width}"
            )
        return x

    def outputs(
        self, x: Tensor | np.ndarray | str | os.PathLike[str] | None = None, batch_size: int = 4096
    ) -> Tensor:
        """The model's outputs for raw features ``x``, standardised as in training.

        A regression run trained on standardised targets gives its outputs in the target's
        own units (:meth:`~rpnkit.inference.preprocessing.Preprocessing.unscale`). A run
        trained on a graph takes every node's features at once, in node order; with ``x``
        ``None`` it predicts its own graph's nodes.
        """
        return self._outputs(x, batch_size)[0]

    def predict(
        self, x: Tensor | np.ndarray | str | os.PathLike[str] | None = None, batch_size: int = 4096
    ) -> Predictions:
        """Predict raw features ``x``: a tensor or array ``(n, in_features)``, or a file path.

        A run trained on a graph predicts all its nodes at once: ``x`` holds every node's
        features in node order, or is ``None`` for the run's own graph; the predictions then
        carry each node's id (the graph file's ids, else the node indices).

        Returns
        -------
        Predictions
            Labels in the training file's own names and class probabilities, or values.
        """
        outputs, ids = self._outputs(x, batch_size)
        predictions = make_predictions(
            outputs, self.preprocessing, log_probabilities=self._log_scores()
        )
        return predictions if ids is None else replace(predictions, ids=ids)

    def _outputs(
        self, x: Tensor | np.ndarray | str | os.PathLike[str] | None, batch_size: int
    ) -> tuple[Tensor, tuple[str, ...] | None]:
        """The outputs, and for a graph run the node id of every row."""
        nodes = self.graph_nodes()
        ids: tuple[str, ...] | None = None
        if x is None:
            graph = self._graph(nodes)
            inputs = graph.x  # the bundle's features, prepared as in training
            ids = graph.node_ids
        else:
            inputs = self.preprocessing.apply(self.features(x))
            if nodes is not None and len(inputs) != nodes:
                raise ConfigError(
                    f"predict: the input has {len(inputs)} row(s), but run "
                    f"{str(self.run_dir)!r} was trained on a graph of {nodes} nodes and predicts "
                    f"them all at once; give {nodes} rows (every node's features, in node "
                    "order), or no INPUT to predict the run's own graph"
                )
        if nodes is not None:
            batch_size = max(len(inputs), 1)  # the whole graph is one batch
            ids = ids or tuple(str(i) for i in range(len(inputs)))
        parts = [self._forward(batch) for batch in _batches(inputs, batch_size)]
        outputs = self.preprocessing.unscale(torch.cat(parts)) if parts else torch.empty(0)
        return outputs, ids

    def graph_nodes(self) -> int | None:
        """The number of nodes of the graph the model was built on; ``None`` for no graph."""
        from rpnkit.rpn.graph.nodes import graph_nodes

        return graph_nodes(self.model)

    def _graph(self, nodes: int | None) -> Any:
        """The run's graph (rebuilt from the data spec), checked to have ``nodes`` nodes."""
        where = f"run {str(self.run_dir)!r}"
        if nodes is None:
            raise ConfigError(
                f"predict: no INPUT given; {where} was not trained on a graph, so it needs a "
                "file of features to predict (only a graph run predicts its own nodes)"
            )
        spec = self.config.data
        try:
            data = get_registry().build("dataset", spec["name"], **spec["parameters"])
        except (RpnkitError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"predict: {where}'s graph cannot be rebuilt from its data spec ({one_line(exc)});"
                " give INPUT, a file with every node's features in node order"
            ) from None
        graph = getattr(data, "graph", None)
        count = getattr(graph, "num_nodes", None)
        if graph is None or count != nodes:
            raise ConfigError(
                f"predict: {where}'s dataset {spec['name']!r} is not the graph of "
                f"{nodes} nodes its model was built on; give INPUT, a file with every node's "
                "features in node order"
            )
        return graph

    def _forward(self, batch: Tensor) -> Tensor:
        with torch.inference_mode():
            out = self.model(batch.to(self.device))
        if not isinstance(out, Tensor):
            raise ConfigError(
                f"model {self.config.model['name']!r} returns {type(out).__name__}, not a tensor"
            )
        return out.reshape(len(out), -1).cpu()

    def _log_scores(self) -> bool:
        """Whether the model was trained to give log-probabilities (the ``nll`` loss)."""
        spec = self.config.loss
        if spec is None:
            return False
        try:
            loss = get_registry().build("loss", spec["name"], **spec["parameters"])
        except (RpnkitError, TypeError, ValueError):
            return False
        return isinstance(loss, nn.NLLLoss)


def _batches(x: Tensor, size: int) -> Iterator[Tensor]:
    for start in range(0, len(x), size):
        yield x[start : start + size]


#: The weights a run can be loaded with: ``model.pt`` (the last epoch, or the restored best)
#: or ``best.pt`` (the best epoch, written with ``output.save_best``).
CHECKPOINTS: dict[str, str] = {"last": "model.pt", "best": "best.pt"}


def load_run(
    run_dir: str | os.PathLike[str], *, device: str = "cpu", checkpoint: str = "last"
) -> LoadedRun:
    """Load a finished run: its config, its weights in a fresh model, its preprocessing.

    Parameters
    ----------
    run_dir
        The folder ``rpnkit train`` wrote (``output.dir``).
    device
        Where the model runs (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, ``"auto"``).
    checkpoint
        ``"last"``: the weights the run ended with (``model.pt``); ``"best"``: those of its
        best epoch (``best.pt``, kept with ``output.save_best``).

    Returns
    -------
    LoadedRun
        With the model in eval mode.

    Raises
    ------
    ConfigError
        For a folder that is not a finished run (missing, no ``config.yaml``, interrupted,
        killed mid-write, no ``model.pt``), a damaged file, or weights that do not fit the
        model the config builds. A config naming a dotted path outside the registry needs
        :func:`rpnkit.trusted_code`, as for training.
    """
    path = check_run_dir(run_dir)
    config = load_config(path / "config.yaml")
    if not config.output.get("save_model", True):
        raise ConfigError(
            f"run {str(path)!r} saved no model (output.save_model: false); train it again "
            "with output.save_model: true"
        )
    if checkpoint not in CHECKPOINTS:
        raise ConfigError(
            f"--checkpoint {checkpoint!r} is not valid; expected one of {', '.join(CHECKPOINTS)}"
        )
    weights_file = path / CHECKPOINTS[checkpoint]
    if checkpoint == "best" and not weights_file.is_file():
        raise ConfigError(
            f"run {str(path)!r} has no best.pt: it was trained without output.save_best; "
            "use --checkpoint last, or train with --set output.save_best.monitor=val_loss"
        )
    if not weights_file.is_file():
        raise ConfigError(f"run {str(path)!r} has no model.pt; its outputs are incomplete")
    preprocessing = _preprocessing(path, config)
    target = resolve_device(device)  # a one-line error for a device this machine lacks
    model = _model(path, config)
    _load_weights(model, weights_file)
    preprocessing.check_model(model, f"run {str(path)!r}")
    model.to(target).eval()
    return LoadedRun(path, config, model, preprocessing, target, checkpoint)


def check_run_dir(run_dir: str | os.PathLike[str]) -> Path:
    """Return ``run_dir`` if it holds a finished run's files; a one-line error otherwise."""
    path = Path(run_dir)
    if not path.exists():
        raise ConfigError(f"RUN_DIR {str(path)!r} does not exist")
    if not path.is_dir():
        raise ConfigError(f"RUN_DIR {str(path)!r} is not a directory")
    if not (path / "config.yaml").is_file():
        if not any(path.iterdir()):  # a train killed before it wrote anything
            raise ConfigError(
                f"RUN_DIR {str(path)!r} is empty (a run killed before training started leaves "
                "it so); train it again"
            )
        raise ConfigError(
            f"RUN_DIR {str(path)!r} has no config.yaml: it is not the output of rpnkit train"
        )
    killed = killed_run(path)
    if killed is not None:
        raise ConfigError(f"run {str(path)!r} {killed}")
    stale = sorted(p.name for p in path.glob(f".*{TEMPORARY_SUFFIX}"))
    if stale:
        raise ConfigError(
            f"run {str(path)!r} was killed while writing its outputs ({stale[0]} is left); "
            "train it again"
        )
    history = path / "history.json"
    try:
        summary = json.loads(history.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(
            f"run {str(path)!r} has no readable history.json; its outputs are incomplete"
        ) from None
    if isinstance(summary, dict) and summary.get("partial"):
        epochs = len(summary.get("history") or [])
        raise ConfigError(
            f"run {str(path)!r} was interrupted after {epochs} epoch(s) (history.json is "
            f"marked partial); resume it to the end with `rpnkit train --resume {path}`"
        )
    return path


def _preprocessing(path: Path, config: RunConfig) -> Preprocessing:
    """``preprocessing.json``, or for a run written before it existed, the rebuilt dataset's."""
    if (path / PREPROCESSING_FILE).is_file():
        return Preprocessing.read(path / PREPROCESSING_FILE)
    spec = config.data
    try:
        data = get_registry().build("dataset", spec["name"], **spec["parameters"])
    except (RpnkitError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"run {str(path)!r} has no {PREPROCESSING_FILE} and its dataset cannot be rebuilt "
            f"from config.yaml: {exc}"
        ) from None
    return Preprocessing.from_data(data)


def _model(path: Path, config: RunConfig) -> nn.Module:
    spec = config.model
    try:
        model = get_registry().build("model", spec["name"], **spec["parameters"])
    except (RpnkitError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"run {str(path)!r}: the model of config.yaml cannot be built: {exc}"
        ) from None
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"run {str(path)!r}: model {spec['name']!r} builds a {type(model).__name__}, not a "
            "torch.nn.Module"
        )
    return model


def _load_weights(model: nn.Module, file: Path) -> None:
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged or foreign file: torch raises many kinds
        reason = one_line(exc, 200)
        raise ConfigError(f"{str(file)!r} is not a readable model state ({reason})") from None
    if not isinstance(state, dict):
        raise ConfigError(f"{str(file)!r} holds a {type(state).__name__}, not a model state")
    try:
        model.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError) as exc:
        reason = one_line(exc, 300)
        raise ConfigError(
            f"{str(file)!r} does not fit the model config.yaml builds: {reason}"
        ) from None
