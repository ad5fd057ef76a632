"""The :class:`DataBundle` every dataset factory returns, and how one is built from tensors.

A bundle holds a seeded train/test split as two loaders (a
:class:`~rpnkit.data.loader.BatchLoader` each, unless worker processes are asked for), with an
optional validation split taken from the training part (``val_size``), plus what a model needs
to know about the data (``in_features``, ``out_features``, ``task``, the class names). It is a
read-only mapping with the keys ``"train_loader"`` and ``"test_loader"`` (and
``"val_loader"`` when it has a validation split), so it can be handed directly to a learner
that expects a ``data_loader`` dict.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from typing import Literal, cast, get_args

from torch import Tensor
from torch.utils.data import TensorDataset

from rpnkit.data.loader import Loader
from rpnkit.data.options import SplitOptions
from rpnkit.data.tensors import check_tensors, statistics
from rpnkit.errors import ConfigError

__all__ = ["DataBundle", "Loader", "Task"]

#: The learning problem a bundle poses.
Task = Literal["classification", "regression"]

_TASKS: tuple[str, ...] = get_args(Task)
_KEYS: tuple[str, str] = ("train_loader", "test_loader")
_VAL_KEYS: tuple[str, str, str] = ("train_loader", "val_loader", "test_loader")


@dataclass(frozen=True, eq=False, repr=False)
class DataBundle(Mapping[str, Loader]):
    """A seeded train/test split of one dataset, ready for training.

    As a :class:`~collections.abc.Mapping` it has the keys ``"train_loader"`` and
    ``"test_loader"``, plus ``"val_loader"`` when the bundle has a validation split, so
    ``learner.train(model, data_loader=bundle)`` works unchanged.

    Attributes
    ----------
    name
        Dataset name (``"digits"``, ``"sin(x1)+cos(x2)"``, ``"flowers.csv"``, ...).
    task
        ``"classification"`` (targets are ``int64`` class indices of shape ``(n,)``) or
        ``"regression"`` (targets are ``float32`` of shape ``(n, out_features)``).
    in_features
        Number of input features; inputs are ``float32`` of shape ``(n, in_features)``.
    out_features
        Number of classes for classification, number of outputs for regression.
    train_loader
        Loader over the training split.
    test_loader
        Loader over the test split, never shuffled.
    val_loader
        Loader over the validation split (``val_size`` samples taken from the training part,
        never shuffled), or ``None`` when the bundle has none. Whatever selects during
        training (early stopping, the best epoch, a plateau scheduler) is meant to look at it,
        keeping the test split for the report.
    feature_mean, feature_std
        The per-feature statistics of the training split used to standardise both splits,
        shape ``(in_features,)``; ``None`` when the features were not standardised. Apply
        ``(x - feature_mean) / feature_std`` to new raw inputs before prediction.
    classes
        For classification, the name of every class: class index ``i`` stands for
        ``classes[i]`` (a file's own labels, e.g. ``"setosa"`` or ``"7"``); ``None`` when the
        classes have no names. :meth:`decode` maps predictions back to them.
    feature_names
        The name of every feature, in the order the model sees them (a table's column
        names); ``None`` when the features have no names.
    target_mean, target_std
        For a regression bundle whose targets were standardised (``standardize_target``),
        the training split's per-output statistics, shape ``(out_features,)``: the loaders
        serve ``(y - target_mean) / target_std``, and ``prediction * target_std +
        target_mean`` is in the target's own units (:meth:`unscale`). ``None`` otherwise.
    """

    name: str
    task: Task
    in_features: int
    out_features: int
    train_loader: Loader
    test_loader: Loader
    feature_mean: Tensor | None = None
    feature_std: Tensor | None = None
    classes: tuple[str, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    val_loader: Loader | None = None
    target_mean: Tensor | None = None
    target_std: Tensor | None = None

    def __post_init__(self) -> None:
        if self.task not in _TASKS:
            raise ConfigError(
                f"DataBundle task must be one of {', '.join(map(repr, _TASKS))}, got {self.task!r}"
            )
        for field_name in ("in_features", "out_features"):
            value = getattr(self, field_name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(
                    f"DataBundle {field_name} must be a positive integer, got {value!r}"
                )
        if self.classes is not None:
            if self.task != "classification":
                raise ConfigError("DataBundle classes are only given for task 'classification'")
            if not isinstance(self.classes, tuple) or not all(
                isinstance(c, str) for c in self.classes
            ):
                raise ConfigError("DataBundle classes must be a tuple of strings")
            if len(self.classes) != self.out_features:
                raise ConfigError(
                    f"DataBundle has {len(self.classes)} class names for "
                    f"out_features={self.out_features} classes"
                )

        if self.feature_names is not None and (
            not isinstance(self.feature_names, tuple) or len(self.feature_names) != self.in_features
        ):
            raise ConfigError(
                f"DataBundle feature_names must be a tuple of in_features={self.in_features} names"
            )

    def __getitem__(self, key: str) -> Loader:
        if key == "train_loader":
            return self.train_loader
        if key == "test_loader":
            return self.test_loader
        if key == "val_loader" and self.val_loader is not None:
            return self.val_loader
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_KEYS if self.val_loader is None else _VAL_KEYS)

    def __len__(self) -> int:
        return len(_KEYS if self.val_loader is None else _VAL_KEYS)

    @property
    def n_train(self) -> int:
        """Number of samples in the training split."""
        return len(cast(Sized, self.train_loader.dataset))

    @property
    def n_test(self) -> int:
        """Number of samples in the test split."""
        return len(cast(Sized, self.test_loader.dataset))

    @property
    def n_val(self) -> int:
        """Number of samples in the validation split (0 without one)."""
        if self.val_loader is None:
            return 0
        return len(cast(Sized, self.val_loader.dataset))

    def unscale(self, values: Tensor) -> Tensor:
        """Regression outputs or targets in the target's own units.

        Undoes ``standardize_target`` (``values * target_std + target_mean``); returns
        ``values`` unchanged when the targets were not standardised.
        """
        if self.target_mean is None or self.target_std is None:
            return values
        std = self.target_std.to(values.device, values.dtype)
        return values * std + self.target_mean.to(values.device, values.dtype)

    def decode(self, predictions: Tensor) -> list[str]:
        """The class names of ``predictions``, in the dataset's own labels.

        Parameters
        ----------
        predictions
            Class indices of shape ``(n,)``, or scores of shape ``(n, out_features)`` (a
            model's output; the highest score wins).

        Returns
        -------
        list of str
            ``classes[i]`` for every prediction ``i`` (the index itself, as text, for a
            bundle whose classes have no names).

        Raises
        ------
        ConfigError
            For a regression bundle, or predictions of another shape or out of range.
        """
        if self.task != "classification":
            raise ConfigError(f"dataset {self.name!r} is a regression set; it has no classes")
        indices = predictions.detach()
        if indices.ndim == 2 and indices.shape[1] == self.out_features:
            indices = indices.argmax(dim=1)
        if indices.ndim != 1 or indices.is_floating_point() or indices.is_complex():
            raise ConfigError(
                f"decode takes class indices of shape (n,) or scores of shape "
                f"(n, {self.out_features}), got {indices.dtype} of shape {tuple(indices.shape)}"
            )
        values = indices.cpu().tolist()
        if values and not 0 <= min(values) <= max(values) < self.out_features:
            raise ConfigError(
                f"decode: class indices must lie in 0..{self.out_features - 1}, got "
                f"{min(values)}..{max(values)}"
            )
        names = self.classes or tuple(str(i) for i in range(self.out_features))
        return [names[i] for i in values]

    def __repr__(self) -> str:
        return (
            f"DataBundle(name={self.name!r}, task={self.task!r}, "
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"n_train={self.n_train}, "
            + (f"n_val={self.n_val}, " if self.val_loader is not None else "")
            + f"n_test={self.n_test})"
        )

    @classmethod
    def from_tensors(
        cls,
        features: Tensor,
        targets: Tensor,
        *,
        name: str,
        task: Task,
        classes: Sequence[str] | None = None,
        batch_size: int = 64,
        test_batch_size: int | None = None,
        test_size: float = 0.2,
        val_size: float | int = 0,
        seed: int = 0,
        standardize: bool = True,
        shuffle: bool = True,
        num_workers: int = 0,
        drop_last: bool = False,
        pin_memory: bool = False,
        standardize_target: bool = False,
    ) -> DataBundle:
        """Split ``features``/``targets`` with a seed and wrap both splits in loaders.

        Every in-memory dataset factory of rpnkit ends here, so the loader parameters below
        mean the same for all of them.

        Parameters
        ----------
        features
            Inputs of shape ``(n, in_features)``; stored as ``float32``.
        targets
            Class indices ``0 .. C-1`` of shape ``(n,)`` for classification (stored as
            ``int64``, ``out_features = C``), or values of shape ``(n,)`` or
            ``(n, out_features)`` for regression (stored as ``float32`` of shape
            ``(n, out_features)``).
        name
            Dataset name recorded on the bundle and used in error messages.
        task
            ``"classification"`` or ``"regression"``.
        classes
            Names of the classes, one per class index (classification only); their number
            sets ``out_features``.
        batch_size
            Training batch size, a positive integer.
        test_batch_size
            Test batch size; ``None`` uses ``batch_size``.
        test_size
            Fraction of the samples held out for testing, strictly between 0 and 1. Each
            split keeps at least one sample (one per class for classification).
        val_size
            Validation samples taken from the training part once the test split is drawn:
            a fraction of the training part in ``[0, 1)`` or a whole number of samples,
            stratified by class for classification. ``0`` (the default) makes none and
            leaves the train/test split exactly as without it.
        seed
            Seeds the split and the training shuffle order, so equal seeds give equal
            splits and equal batch sequences. A non-negative integer.
        standardize
            Rescale every feature to zero mean and unit variance using statistics of the
            training split only (constant features are only centred). The statistics are
            kept as ``feature_mean`` / ``feature_std``.
        shuffle
            Reshuffle the training split every epoch (with a generator seeded by ``seed``).
            The test split is never shuffled.
        num_workers
            ``0`` serves batches with a :class:`~rpnkit.data.loader.BatchLoader` (sliced in
            the main process, the fastest for data in memory); more gives
            :class:`~torch.utils.data.DataLoader` objects with that many worker processes.
            Both serve the same batches.
        drop_last
            Drop the last incomplete training batch.
        pin_memory
            On a machine with CUDA, serve batches in page-locked memory, so copying them to
            the GPU with ``non_blocking=True`` overlaps with computing.
        standardize_target
            For regression, serve targets standardised with the training split's mean and
            standard deviation (kept as ``target_mean`` / ``target_std``; :meth:`unscale`
            undoes it). Ignored for classification.

        Returns
        -------
        DataBundle
            The split data.

        Raises
        ------
        ConfigError
            If a parameter is out of range or the tensors have the wrong shape, with a
            one-line message naming the parameter.
        """
        options = SplitOptions.of(name, locals())
        if task not in _TASKS:
            raise ConfigError(
                f"dataset {name!r}: task must be one of {', '.join(map(repr, _TASKS))}, "
                f"got {task!r}"
            )
        x, y = check_tensors(name, task, features, targets)
        names = None if classes is None else tuple(classes)
        if task == "classification":
            out_features = int(y.max().item()) + 1
            if names is not None:
                if len(names) < out_features:
                    raise ConfigError(
                        f"dataset {name!r}: {len(names)} class names for class indices up to "
                        f"{out_features - 1}"
                    )
                out_features = len(names)
        else:
            out_features = y.shape[1]

        split = options.split(len(x), y if task == "classification" else None)
        x_train = x[split.train]
        mean: Tensor | None = None
        std: Tensor | None = None
        if standardize:
            mean, std = statistics(x_train)
        y_mean: Tensor | None = None
        y_std: Tensor | None = None
        if standardize_target and task == "regression":
            y_mean, y_std = statistics(y[split.train].double())

        def part(index: Tensor) -> TensorDataset:
            features, targets = x[index], y[index]
            if mean is not None and std is not None:
                features = (features - mean) / std
            if y_mean is not None and y_std is not None:
                targets = ((targets.double() - y_mean) / y_std).float()
            return TensorDataset(features.float(), targets)

        train_loader, test_loader = options.loaders(part(split.train), part(split.test))
        return cls(
            name=name,
            task=task,
            in_features=x.shape[1],
            out_features=out_features,
            train_loader=train_loader,
            test_loader=test_loader,
            feature_mean=None if mean is None else mean.float(),
            feature_std=None if std is None else std.float(),
            classes=names,
            val_loader=None if split.val is None else options.val_loader(part(split.val)),
            target_mean=None if y_mean is None else y_mean.float(),
            target_std=None if y_std is None else y_std.float(),
        )
