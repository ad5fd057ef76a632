"""The ``torchvision`` dataset: any ``torchvision.datasets`` class, read from a local folder.

``{name: torchvision, parameters: {dataset: MNIST, root: data}}`` builds
``torchvision.datasets.MNIST(root="data", download=False)``, flattens every image to a vector
of pixel values (``C * H * W`` features, channels first for tensors, as the image's array for
PIL images) and splits the samples like every other dataset. Nothing is downloaded unless
``download: true``. It needs torchvision built for the installed torch; the error without it
gives the command (:func:`install_command`). MNIST and CIFAR-10 need no torchvision: the
``mnist`` and ``cifar10`` datasets read their files with NumPy.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from rpnkit.data.bundle import DataBundle
from rpnkit.data.options import SplitOptions
from rpnkit.data.torch_datasets import dataset_bundle
from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["install_command", "torchvision_dataset"]


def install_command(version: str | None = None) -> str:
    """The pip command installing the torchvision built for this torch, from torch's own index.

    ``pip install 'rpnkit[torchvision]'`` takes torchvision from PyPI, which pins PyPI's torch
    build: with a CPU (``+cpu``) or CUDA-specific (``+cu126``) torch it replaces torch or
    fails to resolve. The command pins torch to its installed version and the matching
    torchvision release (torch ``2.N`` pairs with torchvision ``0.(N+15)``), from the index the
    local version label names (``https://download.pytorch.org/whl/cpu`` for ``+cpu``).

    Parameters
    ----------
    version
        A torch version string; ``None`` is the installed torch's.
    """
    base, _, label = (version or torch.__version__).partition("+")
    parts = base.split(".")
    pins = f'"torch=={base}" torchvision'
    if len(parts) >= 2 and parts[0] == "2" and parts[1].isdigit():
        pins = f'"torch=={base}" "torchvision==0.{int(parts[1]) + 15}.*"'
    index = f" --index-url https://download.pytorch.org/whl/{label}" if label else ""
    return f"pip install {pins}{index}"


def _datasets_module() -> ModuleType:
    """``torchvision.datasets``, or a one-line error giving the command that installs it."""
    try:
        import torchvision.datasets
    except ImportError as exc:
        raise ConfigError(
            "dataset 'torchvision' needs torchvision, which is not installed; install the "
            f"release built for torch {torch.__version__} with: {install_command()}"
        ) from exc
    except Exception as exc:  # a torchvision built for another torch fails while importing
        reason = (str(exc).splitlines() or [""])[0][:100]
        raise ConfigError(
            f"dataset 'torchvision': torchvision is installed but cannot be imported "
            f"({type(exc).__name__}: {reason}); install the release built for torch "
            f"{torch.__version__} with: {install_command()}"
        ) from exc
    return torchvision.datasets


def _dataset_classes(module: ModuleType) -> dict[str, type]:
    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, torch.utils.data.Dataset)
        and not name.startswith("_")
    }


def torchvision_dataset(
    *,
    dataset: str,
    root: str,
    download: bool = False,
    parameters: Mapping[str, Any] | None = None,
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
    """Build a torchvision dataset from ``root`` and split its flattened images.

    Parameters
    ----------
    dataset
        The class name in ``torchvision.datasets`` (``"MNIST"``, ``"FashionMNIST"``,
        ``"CIFAR10"``, ...; case ignored).
    root
        The folder the class reads, laid out as the class expects (for ``MNIST``:
        ``root/MNIST/raw/train-images-idx3-ubyte`` and the other three IDX files).
    download
        Let the class download missing files. Off by default: rpnkit never reaches the
        network unless asked.
    parameters
        Further keyword arguments of the class (``{train: false}``, ``{split: "digits"}``).
    batch_size, test_batch_size, test_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        Loader and split options, as in :meth:`DataBundle.from_tensors`: the samples the
        class gives are split with ``test_size`` (and ``val_size``).

    Returns
    -------
    DataBundle
        A classification bundle named after the class, with the class's ``classes`` names
        when it has them.

    Raises
    ------
    ConfigError
        Without a working torchvision (naming the extra), for an unknown class (with close
        matches), a missing ``root``, or files the class cannot find there.
    """
    module = _datasets_module()
    classes = _dataset_classes(module)
    by_key = {key.lower(): key for key in classes}
    if not isinstance(dataset, str) or dataset.lower() not in by_key:
        raise ConfigError(
            f"dataset 'torchvision': dataset={dataset!r} is not a torchvision.datasets class"
            f"{did_you_mean(str(dataset), list(classes))}"
        )
    class_name = by_key[dataset.lower()]
    cls = classes[class_name]
    options = SplitOptions.of(class_name, locals())
    if not isinstance(download, bool):
        raise ConfigError(
            f"dataset {class_name!r}: download must be true or false, got {download!r}"
        )
    if not isinstance(root, str) or not root:
        raise ConfigError(f"dataset {class_name!r}: root must be a folder path, got {root!r}")
    if not download and not Path(root).expanduser().is_dir():
        raise ConfigError(
            f"dataset {class_name!r}: root={root!r} is not a folder; put the dataset's files "
            "there (or set download: true)"
        )
    if parameters is not None and not isinstance(parameters, Mapping):
        raise ConfigError(
            f"dataset {class_name!r}: parameters must be a mapping of the class's arguments, "
            f"got {type(parameters).__name__}"
        )
    kwargs: dict[str, Any] = {**(parameters or {}), "root": root}
    accepted = inspect.signature(cls).parameters
    if "download" in accepted:
        kwargs["download"] = download
    elif download:
        raise ConfigError(
            f"dataset {class_name!r}: this class cannot download; set download: false"
        )
    from rpnkit.components.spec import check_arguments

    check_arguments(cls, kwargs, f"dataset {class_name!r}")
    try:
        data = cls(**kwargs)
    except (RuntimeError, FileNotFoundError, OSError) as exc:
        reason = (str(exc).splitlines() or [""])[0][:120]
        raise ConfigError(
            f"dataset {class_name!r}: no usable files under root={root!r} ({reason}); put the "
            "dataset's files there or set download: true"
        ) from None
    return dataset_bundle(class_name, data, "auto", options)
