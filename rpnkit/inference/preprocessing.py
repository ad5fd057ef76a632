"""What a run saves about its data so that new inputs are prepared as the training inputs were.

A run writes ``preprocessing.json`` beside its weights: the task, the number of features and
outputs, the feature names (a table's columns), the class names (the training file's own
labels) and the standardisation statistics fitted on the training split. :class:`Preprocessing`
reads it back and applies it to raw features; ``rpnkit predict``, ``rpnkit evaluate`` and
:func:`rpnkit.load_run` all go through it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpnkit.errors import ConfigError

if TYPE_CHECKING:
    from torch import Tensor
    from torch.nn import Module

__all__ = ["MIN_STD", "PREPROCESSING_FILE", "Preprocessing", "preprocessing_record"]

#: The file of a run directory holding its :class:`Preprocessing`.
PREPROCESSING_FILE = "preprocessing.json"
_FORMAT = 1
#: The smallest standard deviation a record may hold: dividing by less overflows float32.
MIN_STD = 1e-30
_TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Preprocessing:
    """How a run's model saw its inputs, and what its outputs mean.

    Attributes
    ----------
    dataset
        The training dataset's name (``"flowers.csv"``).
    task
        ``"classification"``, ``"regression"``, or ``None`` when the dataset did not say.
    in_features
        Number of input features, or ``None`` when unknown.
    out_features
        Number of classes (classification) or outputs (regression), or ``None``.
    feature_names
        The feature columns, in the order the model sees them, or ``None``.
    classes
        The class names (class index ``i`` is ``classes[i]``), or ``None``.
    feature_mean, feature_std
        The training split's per-feature statistics, or ``None`` when the features were not
        standardised.
    target_mean, target_std
        For a regression run trained on standardised targets (``standardize_target``), the
        training split's per-output statistics: :meth:`unscale` maps the model's outputs back
        to the target's units. ``None`` otherwise (and in a run written before they existed).
    """

    dataset: str | None = None
    task: str | None = None
    in_features: int | None = None
    out_features: int | None = None
    feature_names: tuple[str, ...] | None = None
    classes: tuple[str, ...] | None = None
    feature_mean: tuple[float, ...] | None = None
    feature_std: tuple[float, ...] | None = None
    target_mean: tuple[float, ...] | None = None
    target_std: tuple[float, ...] | None = None

    @classmethod
    def from_data(cls, data: Any) -> Preprocessing:
        """What a built dataset (a :class:`~rpnkit.data.DataBundle` or similar) says."""

        def floats(value: Any) -> tuple[float, ...] | None:
            return None if value is None else tuple(float(v) for v in value.tolist())

        def names(value: Any) -> tuple[str, ...] | None:
            return None if value is None else tuple(str(v) for v in value)

        task = getattr(data, "task", None)
        return cls(
            dataset=None if getattr(data, "name", None) is None else str(data.name),
            task=task if task in _TASKS else None,
            in_features=_int_or_none(getattr(data, "in_features", None)),
            out_features=_int_or_none(getattr(data, "out_features", None)),
            feature_names=names(getattr(data, "feature_names", None)),
            classes=names(getattr(data, "classes", None)),
            feature_mean=floats(getattr(data, "feature_mean", None)),
            feature_std=floats(getattr(data, "feature_std", None)),
            target_mean=floats(getattr(data, "target_mean", None)),
            target_std=floats(getattr(data, "target_std", None)),
        )

    def to_json(self) -> str:
        """The record as the text of ``preprocessing.json``."""
        record: dict[str, Any] = {"format": _FORMAT}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            record[key] = list(value) if isinstance(value, tuple) else value
        return json.dumps(record, indent=2)

    @classmethod
    def read(cls, path: str | Path) -> Preprocessing:
        """Read ``preprocessing.json``; a one-line :class:`ConfigError` if it is damaged."""
        path = Path(path)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{str(path)!r} cannot be read: {exc.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ConfigError(f"{str(path)!r} is not valid JSON; the run is damaged") from None
        if not isinstance(record, dict) or record.get("format") != _FORMAT:
            raise ConfigError(
                f"{str(path)!r} is not a preprocessing record of format {_FORMAT}; the run "
                "is damaged or from another rpnkit"
            )
        try:
            result = cls(
                dataset=_optional(record, "dataset", str),
                task=_optional(record, "task", str),
                in_features=_optional(record, "in_features", int),
                out_features=_optional(record, "out_features", int),
                feature_names=_sequence(record, "feature_names", str),
                classes=_sequence(record, "classes", str),
                feature_mean=_sequence(record, "feature_mean", float),
                feature_std=_sequence(record, "feature_std", float),
                target_mean=_sequence(record, "target_mean", float),
                target_std=_sequence(record, "target_std", float),
            )
            result._check()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{str(path)!r}: {exc}; the run is damaged") from None
        return result

    def _check(self) -> None:
        if self.task is not None and self.task not in _TASKS:
            raise ValueError(f"task {self.task!r} is not one of {_TASKS}")
        width = self.in_features
        for key in ("feature_names", "feature_mean", "feature_std"):
            value = getattr(self, key)
            if value is not None and width is not None and len(value) != width:
                raise ValueError(f"{key} has {len(value)} entries for {width} features")
        if self.feature_std is not None and not all(
            math.isfinite(v) and v >= MIN_STD for v in self.feature_std
        ):
            low = min(self.feature_std)
            raise ValueError(
                f"feature_std must hold numbers >= {MIN_STD:g} (one is {low!r}, which would "
                "turn every prediction into inf or NaN)"
            )
        for key in ("target_mean", "target_std"):
            value = getattr(self, key)
            if value is not None and self.out_features not in (None, len(value)):
                raise ValueError(f"{key} has {len(value)} entries for {self.out_features} outputs")
        if self.target_std is not None and not all(
            math.isfinite(v) and v > 0 for v in self.target_std
        ):
            raise ValueError("target_std must hold positive numbers")
        if self.classes is not None and self.out_features not in (None, len(self.classes)):
            raise ValueError(f"{len(self.classes)} classes for {self.out_features} outputs")

    def check_model(self, model: Module, where: str) -> None:
        """Refuse a record that does not fit ``model``: its outputs vs the classes or outputs.

        One forward pass over two rows of zeros of ``in_features`` columns, in eval mode and
        without gradients (the model's mode is restored); a model that does not take such rows
        (a graph model) is not probed.

        Raises
        ------
        ConfigError
            Naming the record's count and the model's, in one line.
        """
        import torch

        if self.in_features is None:
            return
        first = next(model.parameters(), None)
        floating = first is not None and first.is_floating_point()
        probe = torch.zeros(
            2,
            self.in_features,
            dtype=first.dtype if floating and first is not None else torch.float32,
            device=first.device if first is not None else "cpu",
        )
        training = model.training
        try:
            with torch.no_grad():
                outputs = model.eval()(probe)
        except Exception:  # a model that takes other inputs: nothing to compare here
            return
        finally:
            model.train(training)
        if not isinstance(outputs, torch.Tensor) or outputs.dim() != 2:
            return
        width = int(outputs.shape[-1])
        if (
            self.classes is not None
            and self.task == "classification"
            and len(self.classes) != width
        ):
            raise ConfigError(
                f"{where}: {PREPROCESSING_FILE} names {len(self.classes)} classes but the model "
                f"gives {width} outputs; the run is damaged (train it again)"
            )
        if self.out_features is not None and self.out_features != width:
            raise ConfigError(
                f"{where}: {PREPROCESSING_FILE} says out_features={self.out_features} but the "
                f"model gives {width} outputs; the run is damaged (train it again)"
            )

    def apply(self, features: Tensor) -> Tensor:
        """Standardise raw ``features`` of shape ``(n, in_features)`` as in training.

        Returns ``float32`` features; without statistics, only the conversion.
        """
        import torch

        if self.feature_mean is None or self.feature_std is None:
            return features.float()
        mean = torch.tensor(self.feature_mean, dtype=torch.float64, device=features.device)
        std = torch.tensor(self.feature_std, dtype=torch.float64, device=features.device)
        return ((features.double() - mean) / std).float()

    def unscale(self, outputs: Tensor) -> Tensor:
        """Regression ``outputs`` of shape ``(n, out_features)`` in the target's own units.

        Undoes ``standardize_target`` (``outputs * target_std + target_mean``); without target
        statistics, ``outputs`` unchanged.
        """
        import torch

        if self.target_mean is None or self.target_std is None:
            return outputs
        mean = torch.tensor(self.target_mean, dtype=outputs.dtype, device=outputs.device)
        std = torch.tensor(self.target_std, dtype=outputs.dtype, device=outputs.device)
        return outputs * std + mean


def preprocessing_record(data: Any) -> bytes:
    """The bytes of ``preprocessing.json`` for a built dataset (what a run writes)."""
    return Preprocessing.from_data(data).to_json().encode()


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _optional(record: dict[str, Any], key: str, kind: type) -> Any:
    value = record.get(key)
    if value is None:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{key} must be a {kind.__name__}, got {value!r}")
    return value


def _sequence(record: dict[str, Any], key: str, kind: type) -> tuple[Any, ...] | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"{key} must be a list, got {value!r}")
    return tuple(_optional({key: item}, key, kind) for item in value)
