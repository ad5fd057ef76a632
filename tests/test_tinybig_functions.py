"""tinybig's function datasets offline: the same tables, inputs and targets as tinybig 0.2.1."""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings
from typing import Any

import pytest
import torch

from rpnkit.data import tinybig_functions as tf
from rpnkit.data.tinybig_functions.equation import equation
from rpnkit.errors import ConfigError
from rpnkit.plugins.state import get_registry
from tests.tinybig_reference import _StandInFinder

TABLES = {
    "elementary": ("function_dataloader", "Elementary_Function_Equations"),
    "composite": ("function_dataloader", "Composite_Function_Equations"),
    "feynman": ("feynman_dataloader", "Feynman_Equations"),
    "dimensionless_feynman": ("feynman_dataloader", "Dimensionless_Feynman_Equations"),
}
#: Equations tinybig's loader cannot sample (sympy reads gamma and I as functions/constants,
#: or the count column is too small), with the error tinybig raises.
TINYBIG_FAILS = {"I.18.12", "I.18.14", "I.38.12", "I.39.11", "I.43.43", "I.47.23", "II.13.17",
                 "III.19.51"}  # fmt: skip


def _load_tinybig_data(tinybig: Any, module: str) -> types.ModuleType:
    """tinybig's own ``tinybig/data/<module>.py`` (the package itself is stubbed in tests)."""
    path = f"{tinybig.__path__[0]}/data/{module}.py"
    spec = importlib.util.spec_from_file_location(f"_tinybig_reference_{module}", path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    finder = _StandInFinder()
    sys.meta_path.insert(0, finder)
    try:
        spec.loader.exec_module(loaded)
    finally:
        sys.meta_path.remove(finder)
    return loaded


@pytest.fixture(scope="module")
def reference(tinybig: Any) -> dict[str, tuple[Any, tuple[str, ...]]]:
    """Per table: tinybig's function_dataloader class and its table of equation strings."""
    loaded = {name: _load_tinybig_data(tinybig, name) for name, _ in TABLES.values()}
    loader = loaded["function_dataloader"].function_dataloader
    return {
        table: (loader, getattr(loaded[module], attr)) for table, (module, attr) in TABLES.items()
    }


@pytest.mark.parametrize("table", list(TABLES))
def test_tables_hold_tinybigs_equations_in_order(table: str, reference: dict) -> None:
    _, strings = reference[table]
    ours = getattr(tf, table).equations
    assert len(ours) == len(strings)
    for eq, text in zip(ours, strings, strict=True):
        fields = text.split(",")
        assert (eq.label, eq.formula) == (fields[0], fields[3])
        listed = [
            (fields[i], float(fields[i + 1]), float(fields[i + 2]))
            for i in range(5, len(fields) - 2, 3)
            if fields[i]
        ]
        assert list(eq.variables) == listed


@pytest.mark.parametrize("table", list(TABLES))
def test_samples_are_tinybigs_for_the_same_seed(table: str, reference: dict) -> None:
    loader_class, strings = reference[table]
    loader = loader_class(function_list=strings)
    fails = TINYBIG_FAILS if table == "feynman" else set()
    sampled = 0
    for index, eq in enumerate(getattr(tf, table).equations):
        x, y = eq.sample(64, torch.Generator().manual_seed(11))
        assert torch.isfinite(y).all(), eq.label
        if eq.label in fails:
            continue
        parsed, _ = loader.load_equation(index)
        torch.manual_seed(11)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x_ref, y_ref = loader.generate_data(
                parsed["equ_formula"], parsed["equ_variables"], num=64
            )
        assert torch.equal(x, x_ref), eq.label
        # tinybig evaluates in float32, rpnkit in float64: equal up to float32 rounding,
        # which a pole (C.15: tan(exp(x+y)+ln(x+y))) amplifies
        torch.testing.assert_close(y, y_ref.unsqueeze(1), rtol=1e-4, atol=1e-6, msg=eq.label)
        sampled += 1
    assert sampled == len(strings) - len(fails)


def test_tinybig_fails_on_the_equations_it_misreads(reference: dict) -> None:
    loader_class, strings = reference["feynman"]
    loader = loader_class(function_list=strings)
    failed = set()
    for index, eq in enumerate(tf.feynman.equations):
        parsed, _ = loader.load_equation(index)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loader.generate_data(parsed["equ_formula"], parsed["equ_variables"], num=4)
        except (TypeError, RuntimeError):
            failed.add(eq.label)
    assert failed == TINYBIG_FAILS


def test_a_dataset_is_one_equation_split_in_order_like_tinybig() -> None:
    bundle = tf.elementary(equation_index=14, batch_size=100, seed=3)
    assert (bundle.name, bundle.task, bundle.in_features, bundle.out_features) == (
        "elementary E.14", "regression", 2, 1,
    )  # fmt: skip
    x, y = tf.ELEMENTARY[14].sample(2000, torch.Generator().manual_seed(3))
    train_x, train_y = bundle.train_loader.dataset.tensors  # type: ignore[attr-defined]
    test_x, test_y = bundle.test_loader.dataset.tensors  # type: ignore[attr-defined]
    assert torch.equal(train_x, x[:1000]) and torch.equal(test_x, x[1000:])
    assert torch.equal(test_y, y[1000:]) and train_y.shape == (1000, 1)
    torch.testing.assert_close(train_y[:, 0], torch.asinh(train_x.double().sum(1)).float())
    first = [b[0] for b in tf.elementary(equation_index=14, batch_size=100, seed=3).train_loader]
    again = [b[0] for b in bundle.train_loader]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))


def test_options_follow_the_parameters() -> None:
    bundle = tf.feynman(equation_index=4, n_samples=30, test_size=0.2, batch_size=8,
                        test_batch_size=3, shuffle=False)  # fmt: skip
    assert bundle.in_features == 9 and (bundle.n_train, bundle.n_test) == (24, 6)
    assert bundle.test_loader.batch_size == 3
    x, _ = next(iter(bundle.train_loader))
    assert torch.equal(x, bundle.train_loader.dataset.tensors[0][:8])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (
            {"equation_index": 17},
            r"equation_index=17 is not valid; expected an integer from 0 to 16",
        ),
        ({"equation_index": True}, r"equation_index=True"),
        ({"test_size": 1.0}, r"test_size=1\.0 is not valid"),
        ({"n_samples": 0}, r"n_samples=0"),
        ({"shuffle": "yes"}, r"shuffle must be true or false"),
    ],
)
def test_bad_options_are_one_line_errors(options: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as excinfo:
        tf.composite(**options)
    assert "\n" not in str(excinfo.value)


def test_tables_are_registered_under_tinybigs_class_names() -> None:
    registry = get_registry()
    for name, alias in [("elementary", "elementary_function"), ("composite", "composite_function"),
                        ("feynman", "feynman_function"),
                        ("dimensionless_feynman", "dimensionless_feynman_function")]:  # fmt: skip
        assert registry.get_info("dataset", alias).name == name
        bundle = registry.build("dataset", alias, equation_index=1, n_samples=10)
        assert bundle.name.startswith(name)


def test_formulas_are_arithmetic_only() -> None:
    values = torch.tensor([[0.25, 2.0]])
    assert equation("t", "exp(-(a/b)**2/2)+1/2*pi", "a 0 1, b 1 2")(values).item() == (
        pytest.approx(torch.exp(torch.tensor(-(0.125**2) / 2)).item() + torch.pi / 2)
    )
    for formula in ("__import__('os').getcwd()", "a.real", "open(a)", "[a][0]", "a if b else b"):
        with pytest.raises(ValueError, match="unsupported formula element"):
            equation("t", formula, "a 0 1, b 1 2")(values)
