"""Griffe extension: render the Sphinx roles of rpnkit's docstrings as Markdown.

rpnkit's docstrings use reST cross-reference roles (``:class:`DataBundle```,
``:meth:`~Metric.update```). mkdocstrings does not interpret them, so this extension rewrites
each one, once the package is loaded, into inline code: a link (an autorefs cross-reference)
when the name resolves to a public, documented rpnkit object, plain code otherwise (torch,
pluggy and other external names). A leading ``~`` shows only the last component, as in Sphinx.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|obj|exc|const):`(~?)([\w.]+)(\(\))?`")


class SphinxRoles(griffe.Extension):
    """Rewrite reST roles in every docstring of the loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Walk the package and rewrite every docstring in place."""
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = ROLE.sub(
                    lambda match, obj=obj: _render(match, obj, pkg), obj.docstring.value
                )


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found.extend(_walk(member))  # type: ignore[arg-type]
    return found


def _render(match: re.Match[str], scope: griffe.Object, pkg: griffe.Module) -> str:
    tilde, name, call = match.groups()
    shown = (name.rsplit(".", 1)[-1] if tilde else name) + (call or "")
    target = _documented_path(name, scope, pkg)
    return f"[`{shown}`][{target}]" if target else f"`{shown}`"


def _documented_path(name: str, scope: griffe.Object, pkg: griffe.Module) -> str | None:
    """The canonical path of ``name`` if it is a rendered rpnkit object, else ``None``."""
    head, _, rest = name.partition(".")
    candidates = [name]
    try:
        resolved = scope.resolve(head)
        candidates.insert(0, f"{resolved}.{rest}" if rest else resolved)
    except (griffe.NameResolutionError, ValueError):
        pass
    for path in candidates:
        if not path.startswith(f"{pkg.name}."):
            continue
        try:
            obj = pkg.modules_collection.get_member(path)
        except (KeyError, ValueError, griffe.AliasResolutionError):
            continue
        if obj.is_alias:
            try:
                obj = obj.final_target
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                continue
        if _rendered(obj):
            return obj.path
    return None


def _rendered(obj: Any) -> bool:
    """Whether the API pages show ``obj``: public all the way up, with a docstring."""
    if any(part.startswith("_") for part in obj.path.split(".")):
        return False
    return obj.is_module or obj.docstring is not None
