"""Generated sequences: classification tasks over sequences, and a forecasting series.

``sequence_classification`` draws ``n_samples`` sequences of ``length`` steps for one task:

* ``parity``: random bits; the class is their sum modulo 2 (needs every step at once);
* ``majority``: random bits; class 1 when more than half are ones;
* ``trend``: a line of random slope plus Gaussian noise; class 1 when it rises;
* ``frequency``: a sine of one of ``n_classes`` frequencies, random phase, plus noise; the
  class is the frequency.

``synthetic_series`` is a forecasting series (a sum of two sines plus noise, or an AR(2)
process) windowed like the ``series_csv`` dataset. Both are seeded: equal seeds, equal data.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from rpnkit.checks import positive_int
from rpnkit.data.options import SplitOptions
from rpnkit.data.sequences import SEQUENCE_LAYOUTS, SequenceBundle, series_bundle
from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["SEQUENCE_TASKS", "sequence_classification", "synthetic_series"]

#: The tasks of :func:`sequence_classification`.
SEQUENCE_TASKS = ("parity", "majority", "trend", "frequency")


def _draw(task: str, n: int, length: int, n_classes: int, noise: float,
          generator: torch.Generator) -> tuple[Tensor, Tensor]:  # fmt: skip
    steps = torch.arange(length, dtype=torch.float64)
    if task in ("parity", "majority"):
        bits = torch.randint(0, 2, (n, length), generator=generator).double()
        total = bits.sum(dim=1)
        y = (total % 2) if task == "parity" else (total > length / 2).double()
        return bits, y.long()
    if task == "trend":
        y = torch.randint(0, 2, (n,), generator=generator)
        slope = (torch.rand(n, generator=generator, dtype=torch.float64) * 0.9 + 0.1) / length
        slope = torch.where(y == 1, slope, -slope)
        walk = slope[:, None] * steps * 3 + noise * torch.randn(
            n, length, generator=generator, dtype=torch.float64
        )
        return walk, y
    y = torch.randint(0, n_classes, (n,), generator=generator)
    frequency = (y.double() + 1) / (2 * (n_classes + 1))  # cycles per step, below Nyquist
    phase = torch.rand(n, generator=generator, dtype=torch.float64) * 2 * math.pi
    wave = torch.sin(2 * math.pi * frequency[:, None] * steps + phase[:, None])
    return wave + noise * torch.randn(n, length, generator=generator, dtype=torch.float64), y


def sequence_classification(
    *,
    task: str = "parity",
    length: int = 16,
    n_samples: int = 1000,
    n_classes: int = 3,
    noise: float = 0.1,
    layout: str = "flat",
    batch_size: int = 64,
    test_batch_size: int | None = None,
    test_size: float = 0.2,
    val_size: float | int = 0,
    seed: int = 0,
    standardize: bool = False,
    shuffle: bool = True,
    num_workers: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
) -> SequenceBundle:
    """Draw a seeded sequence classification set (one value per step).

    Parameters
    ----------
    task
        ``"parity"``, ``"majority"``, ``"trend"`` or ``"frequency"`` (see the module).
    length
        Steps per sequence.
    n_samples
        Number of sequences.
    n_classes
        Classes of ``"frequency"`` (the other tasks have 2).
    noise
        Standard deviation of the Gaussian noise of ``"trend"`` and ``"frequency"``.
    layout
        ``"flat"``: inputs ``(b, length)``; ``"sequence"``: ``(b, length, 1)``.
    batch_size, test_batch_size, test_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        Loader and split options as in :meth:`DataBundle.from_tensors` (stratified split,
        the validation split stratified from the training part);
        ``standardize`` (off by default) uses one mean and deviation over every step of
        the training sequences, so steps stay comparable.
    """
    options = SplitOptions.of("sequence_classification", locals())
    if task not in SEQUENCE_TASKS:
        raise ConfigError(
            f"dataset 'sequence_classification': task={task!r} is not valid"
            f"{did_you_mean(str(task), SEQUENCE_TASKS)}; expected one of "
            f"{', '.join(map(repr, SEQUENCE_TASKS))}"
        )
    if layout not in SEQUENCE_LAYOUTS:
        raise ConfigError(
            f"dataset 'sequence_classification': layout={layout!r} is not valid; expected "
            "'flat' or 'sequence'"
        )
    length = positive_int(length, "dataset 'sequence_classification' length")
    n_samples = positive_int(n_samples, "dataset 'sequence_classification' n_samples")
    n_classes = positive_int(n_classes, "dataset 'sequence_classification' n_classes")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise ConfigError(
            f"dataset 'sequence_classification': noise must be a non-negative number, got {noise!r}"
        )
    generator = torch.Generator().manual_seed(seed)
    x, y = _draw(
        task, n_samples, length, n_classes if task == "frequency" else 2, float(noise), generator
    )
    split = options.split(n_samples, y, generator)
    train_idx, test_idx = split.train, split.test
    if standardize:
        train = x[train_idx]
        x = (x - train.mean()) / (train.std(correction=0).clamp_min(1e-12))
    x = x.float().unsqueeze(-1) if layout == "sequence" else x.float()
    loaders = options.loaders(
        TensorDataset(x[train_idx], y[train_idx]), TensorDataset(x[test_idx], y[test_idx])
    )
    val_loader = (
        None if split.val is None else options.val_loader(TensorDataset(x[split.val], y[split.val]))
    )
    classes = n_classes if task == "frequency" else 2
    return SequenceBundle(
        name=f"sequence_{task}",
        task="classification",
        in_features=length,
        out_features=classes,
        train_loader=loaders[0],
        test_loader=loaders[1],
        val_loader=val_loader,
        classes=tuple(str(c) for c in range(classes)),
        length=length,
        channels=1,
        layout=layout,
    )


def synthetic_series(
    *,
    kind: str = "sine",
    length: int = 1000,
    noise: float = 0.1,
    x_len: int = 10,
    y_len: int = 1,
    xy_gap: int = 1,
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
) -> SequenceBundle:
    """A seeded forecasting series, windowed and normalised as in ``series_csv``.

    Parameters
    ----------
    kind
        ``"sine"``: ``sin(2πt/25) + 0.5·sin(2πt/7)`` plus noise; ``"ar"``: the AR(2) process
        ``v_t = 1.6 v_{t-1} - 0.8 v_{t-2} + noise``.
    length
        Steps of the series.
    noise
        Standard deviation of the Gaussian noise.
    x_len, y_len, xy_gap, layout, batch_size, test_batch_size, test_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        As for ``series_csv``.
    """
    options = SplitOptions.of("synthetic_series", locals())
    length = positive_int(length, "dataset 'synthetic_series' length")
    if kind not in ("sine", "ar"):
        raise ConfigError(
            f"dataset 'synthetic_series': kind={kind!r} is not valid; expected 'sine' or 'ar'"
        )
    rng = np.random.default_rng(seed)
    shocks = float(noise) * rng.standard_normal(length)
    t = np.arange(length, dtype=np.float64)
    if kind == "sine":
        values = np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 7) + shocks
    else:
        values = np.zeros(length)
        for i in range(2, length):
            values[i] = 1.6 * values[i - 1] - 0.8 * values[i - 2] + shocks[i]
    return series_bundle(f"series_{kind}", values[:, None], x_len=x_len, y_len=y_len,
                         xy_gap=xy_gap, layout=layout, options=options)  # fmt: skip
