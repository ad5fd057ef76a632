"""One formula of tinybig's tables and the arithmetic interpreter that evaluates it.

A formula is parsed with :mod:`ast` and evaluated node by node over tensors: numbers, ``pi``,
the variables, ``+ - * / **``, unary minus and the functions of :data:`FUNCTIONS`. Anything
else is refused; nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import torch
from torch import Tensor

from rpnkit.errors import ConfigError

__all__ = ["FUNCTIONS", "Equation", "equation"]

#: The functions a formula may call, by the names the tables use.
FUNCTIONS: Mapping[str, Callable[[Tensor], Tensor]] = MappingProxyType(
    {
        "exp": torch.exp,
        "ln": torch.log,
        "sqrt": torch.sqrt,
        "sin": torch.sin,
        "cos": torch.cos,
        "tan": torch.tan,
        "arcsin": torch.asin,
        "arccos": torch.acos,
        "arctan": torch.atan,
        "sinh": torch.sinh,
        "cosh": torch.cosh,
        "tanh": torch.tanh,
        "arcsinh": torch.asinh,
        "arccosh": torch.acosh,
        "arctanh": torch.atanh,
    }
)
Value = Tensor | float
_CONSTANTS = MappingProxyType({"pi": math.pi})
_BINARY: Mapping[type[ast.operator], Callable[[Value, Value], Value]] = MappingProxyType(
    {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
        ast.Pow: operator.pow,
    }
)


@dataclass(frozen=True)
class Equation:
    """One formula of a table and the intervals its variables are drawn from.

    Attributes
    ----------
    label
        tinybig's name of the equation (``"E.14"``, ``"I.6.2a"``).
    formula
        The formula in Python syntax over the variables and :data:`FUNCTIONS`.
    variables
        ``(name, low, high)`` for every variable, in the order of the input columns.
    """

    label: str
    formula: str
    variables: tuple[tuple[str, float, float], ...]

    @cached_property
    def _tree(self) -> ast.expr:
        return ast.parse(self.formula, mode="eval").body

    def __call__(self, x: Tensor) -> Tensor:
        """Evaluate the formula on every row of ``x``, shape ``(n, len(variables))`` -> ``(n,)``."""
        if x.ndim != 2 or x.shape[1] != len(self.variables):
            raise ConfigError(
                f"equation {self.label} takes inputs of shape (n, {len(self.variables)}), "
                f"got {tuple(x.shape)}"
            )
        values = {name: x[:, i] for i, (name, _, _) in enumerate(self.variables)}
        result = _evaluate(self._tree, values)
        if not isinstance(result, Tensor):  # a formula without variables
            return torch.full(x.shape[:1], float(result), dtype=x.dtype)
        return result

    def sample(self, n_samples: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Draw ``n_samples`` inputs (``float32``) and their targets (``float32``, ``(n, 1)``)."""
        columns = [
            low + (high - low) * torch.rand(n_samples, generator=generator)
            for _, low, high in self.variables
        ]
        x = torch.stack(columns, dim=1)
        y = self(x.double()).float().unsqueeze(1)
        return x, y


def _evaluate(node: ast.expr, values: Mapping[str, Tensor]) -> Value:
    """Evaluate a parsed formula; only arithmetic, :data:`FUNCTIONS`, ``pi`` and variables."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in values:
            return values[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _evaluate(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and len(node.args) == 1
        and not node.keywords
    ):
        return FUNCTIONS[node.func.id](torch.as_tensor(_evaluate(node.args[0], values)))
    raise ValueError(f"unsupported formula element {ast.dump(node)[:60]}")


def equation(label: str, formula: str, variables: str) -> Equation:
    """An :class:`Equation` from ``"name low high, name low high, ..."``."""
    parsed = []
    for item in variables.split(","):
        name, low, high = item.split()
        parsed.append((name, float(low), float(high)))
    return Equation(label, formula, tuple(parsed))
