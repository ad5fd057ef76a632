"""Images as data: :class:`ImageBundle`, its layouts, and the digits as ``(1, 8, 8)`` grids.

An image dataset serves its images in one of two layouts, chosen with ``layout``:

* ``"flat"`` (the default): ``(b, C·H·W)``, channel-major (all of channel 0 row by row, then
  channel 1, ...) — tinybig's layout, what its ``flatten`` after ``ToTensor`` gives, so a
  tinybig model or config reads it unchanged;
* ``"image"``: ``(b, C, H, W)``, the tensor convolutions take.

Pixels are scaled to ``[0, 1]`` (8-bit images divided by 255, the digits by 16) and, with
``standardize`` (the default), every channel is then standardised with the mean and
standard deviation of the *training* images only. tinybig normalises with fixed constants
(MNIST ``0.1307, 0.3081``; CIFAR-10's per-channel values), which are these same training
statistics rounded; they are kept on the bundle as ``feature_mean`` / ``feature_std``, one
value per flattened feature, in ``[0, 1]`` units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from rpnkit.data.bundle import DataBundle
from rpnkit.data.options import SplitOptions
from rpnkit.errors import ConfigError

__all__ = ["LAYOUTS", "ImageBundle", "digits_images", "find_file", "image_bundle"]

#: The values of an image dataset's ``layout`` parameter.
LAYOUTS = ("flat", "image")


@dataclass(frozen=True, eq=False, repr=False)
class ImageBundle(DataBundle):
    """A :class:`~rpnkit.data.DataBundle` of images, with their shape and layout.

    Attributes
    ----------
    image_shape
        ``(C, H, W)`` of every image; ``in_features`` is ``C·H·W``.
    layout
        ``"flat"``: batches of shape ``(b, C·H·W)``, channel-major; ``"image"``:
        ``(b, C, H, W)``.
    """

    image_shape: tuple[int, int, int] = (1, 1, 1)
    layout: str = "flat"


def find_file(root: Path, names: Sequence[str], folders: Sequence[str] = ("",)) -> Path | None:
    """The first of ``names`` (each also with ``.gz``) found in ``root`` or a sub-folder."""
    for folder in folders:
        for name in names:
            for candidate in (name, f"{name}.gz"):
                path = root / folder / candidate
                if path.is_file():
                    return path
    return None


def _channel_statistics(images: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and standard deviation of ``(n, C, H, W)`` images, summed in float64."""
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for start in range(0, len(images), 4096):
        chunk = images[start : start + 4096].double()
        total += chunk.sum(dim=(0, 2, 3))
        squares += (chunk * chunk).sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(0).sqrt()
    return mean, torch.where(std > 0, std, torch.ones_like(std))


def image_bundle(
    name: str,
    images: Tensor,
    labels: Tensor,
    *,
    classes: Sequence[str],
    layout: str,
    standardize: bool,
    options: SplitOptions,
    test: tuple[Tensor, Tensor] | None = None,
) -> ImageBundle:
    """Split (unless ``test`` is given), standardise per channel and lay out images.

    Parameters
    ----------
    name
        Dataset name.
    images
        ``float32`` images in ``[0, 1]`` of shape ``(n, C, H, W)``.
    labels
        ``int64`` class indices of shape ``(n,)``.
    classes
        The class names.
    layout
        ``"flat"`` or ``"image"``.
    standardize
        Standardise every channel with the training images' statistics.
    options
        Split and loader options (``test_size`` and ``seed`` split when ``test`` is None;
        ``val_size`` takes a validation split from the training images, stratified by class;
        the channel statistics come from the remaining training images only).
    test
        A test set of its own (the dataset's official split): ``(images, labels)``.

    Raises
    ------
    ConfigError
        For an unknown layout or bad options.
    """
    if layout not in LAYOUTS:
        raise ConfigError(
            f"dataset {name!r}: layout={layout!r} is not valid; expected 'flat' ((b, C·H·W), "
            "channel-major: tinybig's) or 'image' ((b, C, H, W))"
        )
    if not isinstance(standardize, bool):
        raise ConfigError(
            f"dataset {name!r}: standardize must be true or false, got {standardize!r}"
        )
    if test is None:
        split = options.split(len(images), labels)
        train_idx, val_idx = split.train, split.val
        test_x, test_y = images[split.test], labels[split.test]
    else:
        train_idx, val_idx = options.take_val(torch.arange(len(images)), labels)
        test_x, test_y = test
    train_x, train_y = images[train_idx], labels[train_idx]
    val = None if val_idx is None else (images[val_idx], labels[val_idx])
    shape = (int(images.shape[1]), int(images.shape[2]), int(images.shape[3]))
    width = shape[0] * shape[1] * shape[2]
    mean_f: Tensor | None = None
    std_f: Tensor | None = None
    if standardize:
        mean, std = _channel_statistics(train_x)
        scale = (mean.float().view(1, -1, 1, 1), std.float().view(1, -1, 1, 1))
        train_x = (train_x - scale[0]) / scale[1]
        test_x = (test_x - scale[0]) / scale[1]
        if val is not None:
            val = ((val[0] - scale[0]) / scale[1], val[1])
        per_pixel = shape[1] * shape[2]
        mean_f = mean.float().repeat_interleave(per_pixel)
        std_f = std.float().repeat_interleave(per_pixel)
    if layout == "flat":
        train_x, test_x = train_x.reshape(len(train_x), width), test_x.reshape(len(test_x), width)
        if val is not None:
            val = (val[0].reshape(len(val[0]), width), val[1])
    loaders = options.loaders(
        TensorDataset(train_x.contiguous(), train_y), TensorDataset(test_x.contiguous(), test_y)
    )
    return ImageBundle(
        name=name,
        task="classification",
        in_features=width,
        out_features=len(classes),
        train_loader=loaders[0],
        test_loader=loaders[1],
        val_loader=None
        if val is None
        else options.val_loader(TensorDataset(val[0].contiguous(), val[1])),
        feature_mean=mean_f,
        feature_std=std_f,
        classes=tuple(classes),
        image_shape=shape,
        layout=layout,
    )


def digits_images(
    *,
    layout: str = "flat",
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
) -> ImageBundle:
    """scikit-learn's handwritten digits as ``(1, 8, 8)`` images, split with a seed.

    The same 1797 images as the ``digits`` dataset, but as images: pixel values (0-16)
    scaled to ``[0, 1]`` and standardised as one channel (``digits`` standardises every
    pixel on its own, which a convolution's shared weights cannot use as well).

    Parameters
    ----------
    layout
        ``"flat"``: batches ``(b, 64)`` (tinybig's layout); ``"image"``: ``(b, 1, 8, 8)``.
    batch_size, test_batch_size, test_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        Loader and split options, as in :meth:`DataBundle.from_tensors` (the split and the
        validation split are stratified by digit); ``standardize`` is per channel.
    """
    from rpnkit.data.tabular import read

    options = SplitOptions.of("digits_images", locals())
    features, labels, classes = read("digits.csv.gz")
    images = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32) / 16.0)
    return image_bundle(
        "digits_images",
        images.reshape(-1, 1, 8, 8),
        torch.from_numpy(labels).long(),
        classes=classes,
        layout=layout,
        standardize=standardize,
        options=options,
    )
