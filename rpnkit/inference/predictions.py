"""A trained model's predictions: labels in the training file's own names, probabilities, values.

For classification the model's outputs become class probabilities (kept as they are when
they already form a distribution, ``exp`` of log-probabilities for a model trained with the
``nll`` loss, else a softmax of the scores, as the cross-entropy loss reads them) and labels
(the most probable class, by name). For regression the outputs are the predicted values.
:meth:`Predictions.write_csv` writes them atomically, one row per input row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from rpnkit.atomic import atomic_open
from rpnkit.inference.preprocessing import Preprocessing

__all__ = ["Predictions", "make_predictions"]


@dataclass(frozen=True)
class Predictions:
    """What a run predicts for a batch of inputs.

    Attributes
    ----------
    outputs
        The model's raw outputs, shape ``(n, out_features)``.
    labels
        Classification: the predicted class of each row, by name; ``None`` for regression.
    classes
        Classification: the class names, the columns of ``probabilities``.
    probabilities
        Classification: shape ``(n, classes)``, each row summing to 1.
    values
        Regression: the predicted values, shape ``(n, out_features)``.
    ids
        A graph run's node ids, one per row (the first column written); ``None`` otherwise.
    """

    outputs: Tensor
    labels: list[str] | None = None
    classes: tuple[str, ...] | None = None
    probabilities: Tensor | None = None
    values: Tensor | None = None
    ids: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.outputs)

    def columns(self) -> list[str]:
        """The header :meth:`write_csv` writes."""
        node = ["node"] if self.ids is not None else []
        return node + self._value_columns()

    def _value_columns(self) -> list[str]:
        if self.labels is not None and self.classes is not None:
            return ["prediction", *(f"probability_{name}" for name in self.classes)]
        width = self.outputs.shape[1] if self.outputs.ndim == 2 else 1
        return ["prediction"] if width == 1 else [f"prediction_{i}" for i in range(width)]

    def rows(self) -> list[list[object]]:
        """One list of cells per input row, in the order of :meth:`columns`."""
        rows = self._value_rows()
        if self.ids is None:
            return rows
        return [[node, *row] for node, row in zip(self.ids, rows, strict=True)]

    def _value_rows(self) -> list[list[object]]:
        if self.labels is not None and self.probabilities is not None:
            probabilities = self.probabilities.tolist()
            return [[label, *p] for label, p in zip(self.labels, probabilities, strict=True)]
        values = self.values if self.values is not None else self.outputs
        return [list(row) for row in values.reshape(len(values), -1).tolist()]

    def write_csv(self, path: str | Path) -> Path:
        """Write the predictions to ``path`` atomically (complete, or not there)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns())
        writer.writerows(self.rows())
        target = Path(path)
        with atomic_open(target) as file:
            file.write(buffer.getvalue().encode())
        return target


def make_predictions(
    outputs: Tensor, preprocessing: Preprocessing, *, log_probabilities: bool = False
) -> Predictions:
    """Turn a model's ``outputs`` into :class:`Predictions` for the run's task.

    Parameters
    ----------
    outputs
        Shape ``(n, out_features)``.
    preprocessing
        The run's record: its task and class names.
    log_probabilities
        The outputs are log-probabilities (a model trained with the ``nll`` loss).
    """
    outputs = outputs.detach().cpu()
    task = preprocessing.task
    if task is None:  # a dataset that did not say: several outputs are class scores
        task = "classification" if outputs.ndim == 2 and outputs.shape[1] > 1 else "regression"
    if task == "regression":
        return Predictions(outputs=outputs, values=outputs.float())
    scores = outputs.double()
    probabilities = _probabilities(scores, log_probabilities)
    names: Sequence[str] = preprocessing.classes or [str(i) for i in range(scores.shape[1])]
    labels = [names[i] for i in probabilities.argmax(dim=1).tolist()]
    return Predictions(
        outputs=outputs, labels=labels, classes=tuple(names), probabilities=probabilities
    )


def _probabilities(scores: Tensor, log_probabilities: bool) -> Tensor:
    if log_probabilities:
        return scores.exp()
    if bool(((scores >= 0).all() & ((scores.sum(dim=1) - 1).abs() < 1e-4).all()).item()):
        return scores  # already a distribution (a model ending in a softmax)
    return torch.softmax(scores, dim=1)
