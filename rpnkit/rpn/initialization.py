"""Parameter initialisation methods of RPN heads (tinybig's ``parameters_init_method``).

Every method treats each tensor with its own shape, as tinybig does: a weight is a matrix
(``w`` of shape ``(C, l)``, a fusion weight ``(1, l)``, a remainder weight ``(n, m)``), a bias
a vector of the head's output size ``n``.

- ``xavier_uniform`` (the default): weights U(±√(6 / (fan_in + fan_out))); a bias as a
  ``(1, n)`` matrix, U(±√(6 / (1 + n))).
- ``xavier_normal``: the same fans with N(0, 2 / (fan_in + fan_out)).
- ``kaiming_uniform``: weights U(±1/√fan_in) (``kaiming_uniform_`` with a = √5); a bias
  U(±1/√fan_in) with the fan of its weight.
- ``kaiming_normal``: weights N(0, 1 / (3 fan_in)) (``kaiming_normal_`` with a = √5); a bias
  as for ``kaiming_uniform``.
- ``fanout_std_uniform``: everything U(±1/√n).

``kaiming_normal`` is rpnkit's: tinybig 0.2.1 does not have it. It is ``kaiming_uniform`` with a
normal distribution of the same variance.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["DEFAULT_INIT_METHOD", "INIT_METHODS", "check_init_method", "init_bias_", "init_weight_"]

#: The accepted ``parameters_init_method`` names.
INIT_METHODS = (
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "fanout_std_uniform",
)
#: The method used when none is given (tinybig's when it builds a model).
DEFAULT_INIT_METHOD = "xavier_uniform"

_KAIMING_A = math.sqrt(5)


def check_init_method(value: object, field: str = "parameters_init_method") -> str:
    """Return ``value`` if it names an initialisation method, else raise naming ``field``."""
    if not isinstance(value, str) or value not in INIT_METHODS:
        hint = did_you_mean(value, INIT_METHODS) if isinstance(value, str) else ""
        shown = repr(value) if isinstance(value, str) else type(value).__name__
        raise ConfigError(
            f"{field}={shown} is not an initialisation method{hint}; valid: "
            f"{', '.join(INIT_METHODS)}"
        )
    return value


def init_weight_(weight: Tensor, method: str, n: int) -> None:
    """Initialise a weight matrix in place.

    Parameters
    ----------
    weight
        A tensor of at least two dimensions (fans as :mod:`torch.nn.init` computes them).
    method
        One of :data:`INIT_METHODS`.
    n
        Output size of the head, used by ``fanout_std_uniform``.
    """
    if method == "xavier_uniform":
        nn.init.xavier_uniform_(weight)
    elif method == "xavier_normal":
        nn.init.xavier_normal_(weight)
    elif method == "kaiming_uniform":
        nn.init.kaiming_uniform_(weight, a=_KAIMING_A)
    elif method == "kaiming_normal":
        nn.init.kaiming_normal_(weight, a=_KAIMING_A)
    else:
        bound = 1.0 / math.sqrt(n)
        nn.init.uniform_(weight, -bound, bound)


def init_bias_(bias: Tensor, method: str, n: int, fan_in: int) -> None:
    """Initialise a bias vector in place.

    Parameters
    ----------
    bias
        A one-dimensional tensor.
    method
        One of :data:`INIT_METHODS`.
    n
        Output size of the head, used by ``fanout_std_uniform``.
    fan_in
        Input fan of the weight the bias belongs to, used by the kaiming methods.
    """
    if method == "xavier_uniform":
        nn.init.xavier_uniform_(bias.unsqueeze(0))
    elif method == "xavier_normal":
        nn.init.xavier_normal_(bias.unsqueeze(0))
    elif method in ("kaiming_uniform", "kaiming_normal"):
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(bias, -bound, bound)
    else:
        bound = 1.0 / math.sqrt(n)
        nn.init.uniform_(bias, -bound, bound)
