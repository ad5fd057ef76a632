"""Builtin plugin: the RPN 2 data interdependence functions ξ (group ``interdependence``).

Targets are lazy ``"module:attr"`` strings, so listing them imports neither torch nor
:mod:`rpnkit.rpn`. Every row has a short name and tinybig's class name as an alias, so tinybig
configs resolve by name. One table per family; :data:`FAMILIES` lists them, so a family is
added with one tuple.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.components.registry import Registry

GROUPS: tuple[tuple[str, str], ...] = (
    (
        "interdependence",
        "RPN 2 data interdependence functions ξ: attribute A ∈ R^{m×m'} or instance A ∈ R^{b×b'}",
    ),
)
#: What a dotted path in the group may name besides registered entries (see rpnkit.components.trust).
KINDS: dict[str, tuple[str, ...]] = {
    "interdependence": ("rpnkit.rpn.interdependence:Interdependence",),
}

_I = "rpnkit.rpn.interdependence"

Row = tuple[str, str, tuple[str, ...], str]

# Each row is (canonical name, target, aliases, summary).

BASIC: tuple[Row, ...] = (
    ("constant", f"{_I}:ConstantInterdependence", ("constant_interdependence",),
     "A given fixed matrix A (m × m' or b × b'), l = 0"),
    ("constant_c", f"{_I}:ConstantCInterdependence", ("constant_c_interdependence",),
     "Every entry c: A = c·1_{d×d'}, l = 0"),
    ("zero", f"{_I}:ZeroInterdependence", ("zero_interdependence",),
     "All zeros: A = 0_{d×d'}, l = 0"),
    ("one", f"{_I}:OneInterdependence", ("one_interdependence",),
     "All ones: A = 1_{d×d'} (sums over the mixed side), l = 0"),
    ("identity", f"{_I}:IdentityInterdependence", ("identity_interdependence",),
     "Identity A = eye(d, d') (warns if d' ≠ d), l = 0"),
)  # fmt: skip

#: The families, in the order they are registered; append a ``(family, rows)`` tuple.
FAMILIES: tuple[tuple[str, tuple[Row, ...]], ...] = (("basic", BASIC),)


@hookimpl(tryfirst=True)
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the ``interdependence`` group."""
    for name, summary in GROUPS:
        registry.add_group(name, summary=summary, kinds=KINDS.get(name, ()))


@hookimpl(tryfirst=True)
def rpnkit_add_components(registry: Registry) -> None:
    """Register the builtin interdependence functions of every family."""
    for _family, rows in FAMILIES:
        for name, target, aliases, summary in rows:
            registry.register("interdependence", name, target, summary=summary, aliases=aliases)
