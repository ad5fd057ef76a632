"""Classification datasets bundled with scikit-learn: digits, iris, wine and breast cancer.

They are read from files shipped inside the scikit-learn package (``sklearn.datasets.load_*``),
so building them never touches the network. Each one is a :class:`SklearnDataset`: calling it
returns a :class:`DataBundle` split and standardised as described in
:meth:`DataBundle.from_tensors`.
"""

from __future__ import annotations

import torch

from rpnkit.data.bundle import DataBundle

__all__ = ["SklearnDataset", "breast_cancer", "digits", "iris", "wine"]


class SklearnDataset:
    """A classification set bundled with scikit-learn, as an rpnkit dataset factory.

    Parameters
    ----------
    name
        rpnkit name of the set (``"digits"``).
    loader
        Name of the ``sklearn.datasets`` function that reads it (``"load_digits"``).
    description
        One line: what the samples are, how many features and classes.
    """

    def __init__(self, name: str, loader: str, description: str) -> None:
        self.name = name
        self.loader = loader
        self.__doc__ = description

    def __repr__(self) -> str:
        return f"SklearnDataset({self.name!r})"

    def __call__(
        self,
        *,
        batch_size: int = 64,
        test_batch_size: int | None = None,
        test_size: float = 0.2,
        seed: int = 0,
        standardize: bool = True,
        shuffle: bool = True,
        num_workers: int = 0,
        drop_last: bool = False,
    ) -> DataBundle:
        """Read the set and split it into seeded, stratified train/test loaders.

        Parameters
        ----------
        batch_size, test_batch_size, test_size, seed, standardize, shuffle, num_workers, drop_last
            Loader and split options, as in :meth:`DataBundle.from_tensors`.

        Returns
        -------
        DataBundle
            A classification bundle (integer labels).

        Raises
        ------
        ConfigError
            If an option is out of range.
        """
        from sklearn import datasets

        features, labels = getattr(datasets, self.loader)(return_X_y=True)
        return DataBundle.from_tensors(
            torch.from_numpy(features),
            torch.from_numpy(labels),
            name=self.name,
            task="classification",
            batch_size=batch_size,
            test_batch_size=test_batch_size,
            test_size=test_size,
            seed=seed,
            standardize=standardize,
            shuffle=shuffle,
            num_workers=num_workers,
            drop_last=drop_last,
        )


#: Handwritten digits: 1797 8x8 images as 64 pixel intensities, 10 classes.
digits = SklearnDataset(
    "digits",
    "load_digits",
    "Handwritten digits: 1797 8x8 images as 64 pixel intensities, 10 classes.",
)
#: Iris flowers: 150 samples of 4 measurements, 3 species.
iris = SklearnDataset(
    "iris", "load_iris", "Iris flowers: 150 samples of 4 measurements, 3 species."
)
#: Wine recognition: 178 samples of 13 chemical measurements, 3 cultivars.
wine = SklearnDataset(
    "wine", "load_wine", "Wine recognition: 178 samples of 13 chemical measurements, 3 cultivars."
)
#: Breast cancer Wisconsin (diagnostic): 569 samples of 30 features, 2 classes.
breast_cancer = SklearnDataset(
    "breast_cancer",
    "load_breast_cancer",
    "Breast cancer Wisconsin (diagnostic): 569 samples of 30 features, 2 classes.",
)
