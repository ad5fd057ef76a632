"""Classification datasets bundled with scikit-learn: digits, iris, wine and breast cancer.

They are read from the files shipped inside the installed scikit-learn package
(``sklearn/datasets/data``), so building them never touches the network. The files are read
directly, the way ``sklearn.datasets.load_*`` reads them, giving the same arrays, but without
importing ``sklearn`` itself: that import pulls in SciPy and costs well over a second, more
than reading the data. Each set is a :class:`SklearnDataset`: calling it returns a
:class:`DataBundle` split and standardised as described in :meth:`DataBundle.from_tensors`,
with the class names scikit-learn gives them.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
from pathlib import Path

import numpy as np
import torch

from rpnkit.data.bundle import DataBundle
from rpnkit.errors import ConfigError

__all__ = ["SklearnDataset", "breast_cancer", "bundled_file", "digits", "iris", "read", "wine"]


def bundled_file(file: str) -> Path:
    """The path of ``file`` in the data folder of the installed scikit-learn.

    The package is located with :func:`importlib.util.find_spec`, which finds it without
    running its ``__init__`` (``importlib.resources.files("sklearn")`` would import it).

    Raises
    ------
    ConfigError
        If scikit-learn is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("sklearn")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location, "datasets", "data", file)
        if path.is_file():
            return path
    raise ConfigError(
        f"the scikit-learn data file {file!r} was not found; install scikit-learn "
        "(pip install scikit-learn)"
    )


def read(file: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read a bundled scikit-learn set: ``(features, labels, class names)``.

    ``digits.csv.gz`` is a headerless table whose last column is the digit; the other files
    start with a line ``n_samples,n_features,name_0,name_1,...`` followed by the rows, the
    class index last. The arrays equal those of ``sklearn.datasets.load_*(return_X_y=True)``:
    ``float64`` features and integer labels.
    """
    path = bundled_file(file)
    if file.endswith(".gz"):
        with gzip.open(path, mode="rt", encoding="utf-8") as stream:
            table = np.loadtxt(stream, delimiter=",")
        labels = table[:, -1].astype(int, copy=False)
        return table[:, :-1], labels, tuple(str(c) for c in range(int(labels.max()) + 1))
    with path.open(encoding="utf-8", newline="") as stream:
        rows = csv.reader(stream)
        header = next(rows)
        n_samples, n_features = int(header[0]), int(header[1])
        features = np.empty((n_samples, n_features))
        labels = np.empty((n_samples,), dtype=int)
        for i, row in enumerate(rows):
            features[i] = np.asarray(row[:-1], dtype=np.float64)
            labels[i] = int(row[-1])
    return features, labels, tuple(header[2:])


class SklearnDataset:
    """A classification set bundled with scikit-learn, as an rpnkit dataset factory.

    Parameters
    ----------
    name
        rpnkit name of the set (``"digits"``).
    file
        Name of its file in scikit-learn's data folder (``"digits.csv.gz"``), read by
        :func:`read`.
    description
        One line: what the samples are, how many features and classes.
    """

    def __init__(self, name: str, file: str, description: str) -> None:
        self.name = name
        self.file = file
        self.__doc__ = description

    def __repr__(self) -> str:
        return f"SklearnDataset({self.name!r})"

    def __call__(
        self,
        *,
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
        """Read the set and split it into seeded, stratified train/test loaders.

        Parameters
        ----------
        batch_size, test_batch_size, test_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
            Loader and split options, as in :meth:`DataBundle.from_tensors`.

        Returns
        -------
        DataBundle
            A classification bundle (integer labels) with scikit-learn's class names.

        Raises
        ------
        ConfigError
            If an option is out of range.
        """
        features, labels, classes = read(self.file)
        return DataBundle.from_tensors(
            torch.from_numpy(features),
            torch.from_numpy(labels),
            name=self.name,
            task="classification",
            classes=classes,
            batch_size=batch_size,
            test_batch_size=test_batch_size,
            test_size=test_size,
            val_size=val_size,
            seed=seed,
            standardize=standardize,
            shuffle=shuffle,
            num_workers=num_workers,
            drop_last=drop_last,
            pin_memory=pin_memory,
        )


#: Handwritten digits: 1797 8x8 images as 64 pixel intensities, 10 classes.
digits = SklearnDataset(
    "digits",
    "digits.csv.gz",
    "Handwritten digits: 1797 8x8 images as 64 pixel intensities, 10 classes.",
)
#: Iris flowers: 150 samples of 4 measurements, 3 species.
iris = SklearnDataset("iris", "iris.csv", "Iris flowers: 150 samples of 4 measurements, 3 species.")
#: Wine recognition: 178 samples of 13 chemical measurements, 3 cultivars.
wine = SklearnDataset(
    "wine",
    "wine_data.csv",
    "Wine recognition: 178 samples of 13 chemical measurements, 3 cultivars.",
)
#: Breast cancer Wisconsin (diagnostic): 569 samples of 30 features, 2 classes.
breast_cancer = SklearnDataset(
    "breast_cancer",
    "breast_cancer.csv",
    "Breast cancer Wisconsin (diagnostic): 569 samples of 30 features, 2 classes.",
)
