"""A :class:`torch.utils.data.Dataset` of the user's own, made into a :class:`DataBundle`.

A config names the class by dotted path, ``data: {name: mypkg.MyDataset, parameters: {...}}``
(or ``{name: torch_dataset, parameters: {dataset: mypkg.MyDataset, parameters: {...}}}``).
Only subclasses of ``torch.utils.data.Dataset`` are accepted from a dotted path, so a config
can build a dataset but never call an arbitrary function. The dataset is read once, sample by
sample, into memory (each sample's features flattened to a vector), then split and served like
every other dataset.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, IterableDataset

from rpnkit.data.bundle import DataBundle
from rpnkit.data.labels import check_task, encode_targets
from rpnkit.data.memory import check_fits
from rpnkit.data.options import SplitOptions
from rpnkit.errors import ConfigError

__all__ = ["OPTION_NAMES", "dataset_bundle", "dataset_class", "from_path", "torch_dataset"]

#: Parameters taken by the bundle, not the dataset class, in ``{name: mypkg.MyDataset}`` form.
OPTION_NAMES: tuple[str, ...] = (
    "task",
    "batch_size",
    "test_batch_size",
    "test_size",
    "val_size",
    "seed",
    "standardize",
    "shuffle",
    "num_workers",
    "drop_last",
    "pin_memory",
)


def dataset_class(target: object, path: str) -> type[Dataset[Any]]:
    """Return ``target`` if it is a map-style Dataset subclass, else raise :class:`ConfigError`.

    Parameters
    ----------
    target
        The object ``path`` names, or ``path`` itself (a string) to import it.
    path
        The dotted path, for messages.
    """
    if isinstance(target, str):
        from rpnkit.components.trust import import_admitted

        target = import_admitted(target, ("torch.utils.data:Dataset",), f"dataset {path!r}")
    if not inspect.isclass(target) or not issubclass(target, Dataset):
        kind = type(target).__name__ if not inspect.isclass(target) else f"class {target.__name__}"
        raise ConfigError(
            f"dataset {path!r} is a {kind}, not a torch.utils.data.Dataset subclass; a dotted "
            "path in the dataset group must name a Dataset class (register other factories "
            "through a plugin)"
        )
    if issubclass(target, IterableDataset):
        raise ConfigError(
            f"dataset {path!r} is an IterableDataset; rpnkit splits map-style datasets "
            "(with __len__ and __getitem__)"
        )
    return target


def from_path(target: object, path: str) -> Callable[..., DataBundle]:
    """The factory a dotted path in the ``dataset`` group builds with.

    The factory takes the class's own parameters and the bundle options of
    :data:`OPTION_NAMES`; it builds the dataset and calls :func:`dataset_bundle`.

    Raises
    ------
    ConfigError
        If ``target`` is not a map-style Dataset subclass.
    """
    cls = dataset_class(target, path)

    def build(**parameters: Any) -> DataBundle:
        options = {key: parameters.pop(key) for key in OPTION_NAMES if key in parameters}
        return torch_dataset(dataset=cls, parameters=parameters, **options)

    build.__doc__ = f"Build {path} and split it into a DataBundle."
    return build


def torch_dataset(
    *,
    dataset: str | type[Dataset[Any]],
    parameters: Mapping[str, Any] | None = None,
    task: str = "auto",
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
) -> DataBundle:
    """Build a map-style Dataset class and split its samples into a bundle.

    Parameters
    ----------
    dataset
        The class, or its dotted path (``"mypkg.data.MyDataset"``); it must subclass
        :class:`torch.utils.data.Dataset` and have ``__len__``.
    parameters
        Keyword arguments of the class.
    task
        ``"auto"`` (integer or text targets: classification; floats: regression),
        ``"classification"`` or ``"regression"``.
    batch_size, test_batch_size, test_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        Loader and split options, as in :meth:`DataBundle.from_tensors`.

    Returns
    -------
    DataBundle
        Named after the class.

    Raises
    ------
    ConfigError
        For a path that is not a Dataset class, parameters the class does not take, or
        samples that are not ``(features, target)`` pairs of one shape.
    """
    from rpnkit.components.spec import check_arguments

    path = dataset if isinstance(dataset, str) else f"{dataset.__module__}.{dataset.__qualname__}"
    cls = dataset_class(dataset, path)
    if parameters is not None and not isinstance(parameters, Mapping):
        raise ConfigError(
            f"dataset {path!r}: parameters must be a mapping of the class's arguments, got "
            f"{type(parameters).__name__}"
        )
    options = SplitOptions.of(cls.__name__, locals())
    task = check_task(cls.__name__, task)
    kwargs = dict(parameters or {})
    check_arguments(cls, kwargs, f"dataset {path!r}")
    return dataset_bundle(cls.__name__, cls(**kwargs), task, options)


def _vector(value: object) -> Tensor | None:
    """A sample's features as a flat tensor, or ``None`` for a type that is not an array."""
    if isinstance(value, Tensor):
        return value.detach().reshape(-1)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value).reshape(-1))
    if isinstance(value, Real):
        return torch.tensor([float(value)])
    if hasattr(value, "__array_interface__") or hasattr(value, "__array__"):  # PIL images
        return torch.from_numpy(np.array(value).reshape(-1))
    return None


def dataset_bundle(
    name: str,
    data: Dataset[Any],
    task: str,
    options: SplitOptions,
    classes: Sequence[str] | None = None,
) -> DataBundle:
    """Read every sample of ``data`` into memory and split them.

    Parameters
    ----------
    name
        Dataset name.
    data
        A map-style dataset of ``(features, target)`` samples: features a tensor, array,
        image or number (flattened); the target a number, string or tensor.
    task
        ``"auto"``, ``"classification"`` or ``"regression"``.
    options
        The split and loader options.
    classes
        Class names for integer targets (torchvision's ``dataset.classes``); taken from
        ``data.classes`` when not given. Without them the distinct targets are the classes.

    Raises
    ------
    ConfigError
        For a dataset without a length or of fewer than 2 samples, samples that are not
        pairs, features of differing sizes, or a dataset too large for memory.
    """
    try:
        n = len(data)  # type: ignore[arg-type]
    except TypeError:
        raise ConfigError(f"dataset {name!r} has no length; it must define __len__") from None
    if n < 2:
        raise ConfigError(f"dataset {name!r} holds {n} sample(s); at least 2 are needed")
    first = _sample(name, data, 0)
    width = first[0].numel()
    check_fits(name, f"{n} samples of {width} features", 32.0 * n * (width + 1), "use a subset")
    features = torch.empty((n, width), dtype=torch.float32)
    targets: list[Any] = []
    for i in range(n):
        vector, target = first if i == 0 else _sample(name, data, i)
        if vector.numel() != width:
            raise ConfigError(
                f"dataset {name!r}: sample {i} has {vector.numel()} features, sample 0 has "
                f"{width}; every sample must have the same size"
            )
        features[i] = vector
        targets.append(
            target.item() if isinstance(target, Tensor) and target.numel() == 1 else target
        )
    if classes is None:
        found = getattr(data, "classes", None)
        if isinstance(found, Sequence) and all(isinstance(c, str) for c in found):
            classes = found
    values = np.array([t.numpy() if isinstance(t, Tensor) else t for t in targets])
    integral = all(isinstance(t, Integral) for t in targets)
    if classes is not None and task != "regression" and integral and len(targets):
        labels = torch.from_numpy(values.astype(np.int64))
        if int(labels.min()) >= 0 and int(labels.max()) < len(classes):
            return DataBundle.from_tensors(
                features, labels, name=name, task="classification",
                classes=tuple(classes), **options.kwargs(),
            )  # fmt: skip
    kind, encoded, names = encode_targets(name, "the targets", values, task)
    return DataBundle.from_tensors(
        features, encoded, name=name, task=kind, classes=names, **options.kwargs()
    )


def _sample(name: str, data: Dataset[Any], index: int) -> tuple[Tensor, object]:
    item = data[index]
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise ConfigError(
            f"dataset {name!r}: sample {index} must be a (features, target) pair, got "
            f"{type(item).__name__}"
        )
    vector = _vector(item[0])
    if vector is None:
        raise ConfigError(
            f"dataset {name!r}: the features of sample {index} are a {type(item[0]).__name__}; "
            "give a tensor, an array, an image or a number"
        )
    return vector, item[1]
