"""Offline datasets: scikit-learn's bundled sets and synthetic function-approximation sets.

Every factory returns a :class:`DataBundle` (a seeded train/test split as two loaders) and is
registered in the ``dataset`` registry group, so ``rpnkit.state.build("dataset", "digits")``
and ``rpnkit.data.digits()`` are equivalent. Nothing here downloads data.
"""

from rpnkit.data.bundle import DataBundle, Loader, Task
from rpnkit.data.synthetic import (
    FUNCTIONS,
    SyntheticFunction,
    function_names,
    get_function,
    synthetic_function,
)
from rpnkit.data.tabular import breast_cancer, digits, iris, wine

__all__ = [
    "FUNCTIONS",
    "DataBundle",
    "Loader",
    "SyntheticFunction",
    "Task",
    "breast_cancer",
    "digits",
    "function_names",
    "get_function",
    "iris",
    "synthetic_function",
    "wine",
]
