"""tinybig's synthetic function datasets, offline: elementary, composite and Feynman equations.

tinybig 0.2.1 ships four tables of formulas of 1 to 9 variables, each variable with the interval
it is drawn from: 17 elementary functions of ``x + y`` (``elementary``), 17 composite ones
(``composite``), the 100 equations of the Feynman Symbolic Regression Database (``feynman``) and
27 dimensionless variants of them (``dimensionless_feynman``). A dataset is one equation, picked
by ``equation_index`` (its position in the table, from 0), sampled as tinybig samples it:

* every variable in turn draws ``n_samples`` values ``low + (high - low) * U(0, 1)`` from one
  generator seeded with ``seed`` (tinybig draws the same numbers from torch's global generator
  after ``torch.manual_seed(seed)``, so equal seeds give equal inputs);
* the target is the formula of the inputs, one column;
* the first ``1 - test_size`` of the samples train, the rest test (tinybig's split, in order,
  with half of 2000 samples each by default); the training loader is reshuffled every epoch.

Formulas are evaluated by a small arithmetic interpreter over a fixed set of functions
(:data:`FUNCTIONS`, in the module ``equation``); nothing is ever passed
to ``eval``. Targets are computed in double precision and stored as ``float32`` (tinybig
computes them in single precision, so values near a pole, as in ``C.15``, agree to about 1e-4
relative).

Where tinybig's loader cannot sample an equation, this module samples the equation the table
defines: tinybig evaluates formulas with sympy, which reads the variable names ``gamma`` and
``I`` as the gamma function and the imaginary unit (Feynman ``I.39.11``, ``I.43.43``,
``I.47.23``, ``II.13.17``), and it reads only as many variables as the table's count column
says, which is too small for ``I.18.12``, ``I.18.14``, ``I.38.12`` and ``III.19.51``; here every
variable the table lists is a variable. tinybig raises on these eight.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from rpnkit.checks import non_negative_int, positive_int, short_repr
from rpnkit.data.bundle import DataBundle
from rpnkit.data.memory import check_fits
from rpnkit.data.options import SplitOptions
from rpnkit.data.tinybig_functions.equation import FUNCTIONS, Equation
from rpnkit.data.tinybig_functions.tables import (
    COMPOSITE,
    DIMENSIONLESS_FEYNMAN,
    ELEMENTARY,
    FEYNMAN,
)
from rpnkit.errors import ConfigError

__all__ = [
    "COMPOSITE",
    "DIMENSIONLESS_FEYNMAN",
    "ELEMENTARY",
    "FEYNMAN",
    "FUNCTIONS",
    "Equation",
    "EquationTable",
    "composite",
    "dimensionless_feynman",
    "elementary",
    "feynman",
]


class EquationTable:
    """One of tinybig's formula tables as an rpnkit dataset factory.

    Parameters
    ----------
    name
        rpnkit name of the table (``"elementary"``).
    equations
        The table.
    description
        One line: what the equations are.
    """

    def __init__(self, name: str, equations: tuple[Equation, ...], description: str) -> None:
        self.name = name
        self.equations = equations
        self.__doc__ = description

    def __repr__(self) -> str:
        return f"EquationTable({self.name!r}, {len(self.equations)} equations)"

    def equation(self, equation_index: int) -> Equation:
        """The equation at ``equation_index`` (from 0).

        Raises
        ------
        ConfigError
            If the index is not an integer of the table's range.
        """
        last = len(self.equations) - 1
        if (
            isinstance(equation_index, bool)
            or not isinstance(equation_index, int)
            or not 0 <= equation_index <= last
        ):
            raise ConfigError(
                f"dataset {self.name!r}: equation_index={short_repr(equation_index)} is not "
                f"valid; expected an integer from 0 to {last}"
            )
        return self.equations[equation_index]

    def __call__(
        self,
        *,
        equation_index: int = 0,
        n_samples: int = 2000,
        test_size: float = 0.5,
        val_size: float | int = 0,
        batch_size: int = 64,
        test_batch_size: int | None = None,
        seed: int = 0,
        shuffle: bool = True,
    ) -> DataBundle:
        """Sample one equation of the table: a regression dataset with one target.

        Parameters
        ----------
        equation_index
            Position of the equation in the table, from 0 (tinybig's ``equation_index``).
        n_samples
            Number of samples before the split (tinybig's 2000 by default), at least 2.
        test_size
            Fraction of the samples, taken from the end, held out for testing (tinybig's
            half by default); strictly between 0 and 1, leaving a sample on each side.
        val_size
            Validation samples taken from the end of the training part (in order, like
            tinybig's split): a fraction of it in ``[0, 1)`` or a count; ``0`` (the default)
            makes none, leaving tinybig's split unchanged.
        batch_size
            Training batch size (tinybig's ``train_batch_size``).
        test_batch_size
            Test batch size; ``None`` uses ``batch_size``.
        seed
            Seeds the sampling and the training shuffle order (a non-negative integer).
        shuffle
            Reshuffle the training split every epoch; the test split is never shuffled.

        Returns
        -------
        DataBundle
            ``task="regression"``, ``in_features`` = the equation's number of variables,
            ``out_features=1``, named ``"<table> <label>"`` (``"elementary E.14"``).

        Raises
        ------
        ConfigError
            For an index out of range or an option out of range.
        """
        equation = self.equation(equation_index)
        label = f"{self.name} {equation.label}"
        n_samples = positive_int(n_samples, f"dataset {label!r}: n_samples")
        seed = non_negative_int(seed, f"dataset {label!r}: seed")
        batch_size = positive_int(batch_size, f"dataset {label!r}: batch_size")
        test_batch = batch_size
        if test_batch_size is not None:
            test_batch = positive_int(test_batch_size, f"dataset {label!r}: test_batch_size")
        if not isinstance(shuffle, bool):
            raise ConfigError(f"dataset {label!r}: shuffle must be true or false, got {shuffle!r}")
        n_train = _train_count(label, n_samples, test_size)
        n_val = SplitOptions(label, val_size=val_size).val_count(n_train) if val_size else 0
        if n_val >= n_train:
            raise ConfigError(
                f"dataset {label!r}: val_size={short_repr(val_size)} takes {n_val} of the "
                f"{n_train} training samples and leaves none to train on; lower val_size"
            )
        # The variables' columns, the stacked inputs, the result and its split copies: about
        # 16 bytes per value at the peak, refused before a single sample is drawn.
        check_fits(
            label,
            f"n_samples={n_samples}",
            16.0 * n_samples * (len(equation.variables) + 1),
            "lower n_samples",
        )
        x, y = equation.sample(n_samples, torch.Generator().manual_seed(seed))
        train_loader: DataLoader[tuple[Tensor, ...]] = DataLoader(
            TensorDataset(x[: n_train - n_val], y[: n_train - n_val]),
            batch_size=batch_size,
            shuffle=shuffle,
            generator=torch.Generator().manual_seed(seed) if shuffle else None,
        )
        test_loader: DataLoader[tuple[Tensor, ...]] = DataLoader(
            TensorDataset(x[n_train:], y[n_train:]), batch_size=test_batch, shuffle=False
        )
        val_loader: DataLoader[tuple[Tensor, ...]] | None = None
        if n_val:
            val_loader = DataLoader(
                TensorDataset(x[n_train - n_val : n_train], y[n_train - n_val : n_train]),
                batch_size=test_batch,
                shuffle=False,
            )
        return DataBundle(
            name=label,
            task="regression",
            in_features=len(equation.variables),
            out_features=1,
            train_loader=train_loader,
            test_loader=test_loader,
            val_loader=val_loader,
        )


def _train_count(label: str, n_samples: int, test_size: object) -> int:
    """Number of leading samples that train, or raise for a bad ``test_size``."""
    if isinstance(test_size, int | float) and not isinstance(test_size, bool):
        n_train = int(round((1.0 - float(test_size)) * n_samples, 9))
        if 0.0 < test_size < 1.0 and 0 < n_train < n_samples:
            return n_train
    raise ConfigError(
        f"dataset {label!r}: test_size={short_repr(test_size)} is not valid for {n_samples} "
        "samples; expected a fraction strictly between 0 and 1 that leaves a sample on each side"
    )


#: tinybig's 17 elementary functions of ``x + y``.
elementary = EquationTable(
    "elementary", ELEMENTARY, "tinybig's 17 elementary functions of x + y (regression)."
)
#: tinybig's 17 composite functions of ``x + y``.
composite = EquationTable(
    "composite", COMPOSITE, "tinybig's 17 composite functions of x + y (regression)."
)
#: The 100 equations of the Feynman Symbolic Regression Database, as tinybig samples them.
feynman = EquationTable(
    "feynman", FEYNMAN, "The 100 Feynman database equations of 1-9 variables (regression)."
)
#: 27 dimensionless Feynman equations, as tinybig samples them.
dimensionless_feynman = EquationTable(
    "dimensionless_feynman",
    DIMENSIONLESS_FEYNMAN,
    "27 dimensionless Feynman database equations of 2-6 variables (regression).",
)
