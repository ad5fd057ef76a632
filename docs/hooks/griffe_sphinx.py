"""Griffe extension: read the Sphinx conventions of rpnkit's docstrings for mkdocstrings.

rpnkit's sources follow three Sphinx habits that mkdocstrings does not interpret:

* cross-reference roles such as ``:class:`DataBundle``` or ``:meth:`~Metric.update```; each is
  rewritten, once the package is loaded, into inline code: an optional autorefs
  cross-reference when the name resolves to a documented rpnkit object (a link where the API
  pages render it, plain code where they leave it out as internal), plain code otherwise
  (torch, pluggy and other external names). A leading ``~`` shows only the last component, as
  in Sphinx;
* ``#:`` comments above a module-level or class-level assignment, which document it; they
  become the attribute's docstring;
* ``::`` ending a paragraph to introduce a literal block, which Sphinx shows as ``:``; the
  indented block itself is already a Markdown code block.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|obj|exc|const):`(~?)([\w.]+)(\(\))?`")
LITERAL_BLOCK = re.compile(r"(?<=\S)::$", re.MULTILINE)
COMMENT = "#:"


class SphinxConventions(griffe.Extension):
    """Turn ``#:`` comments into docstrings, and reST roles and ``::`` into Markdown."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Walk the loaded package and update every docstring in place."""
        objects = _walk(pkg)
        for obj in objects:
            if obj.is_attribute and obj.docstring is None:
                _docstring_from_comment(obj)
        for obj in objects:
            if obj.docstring is not None:
                obj.docstring.value = _markdown(obj.docstring.value, obj, pkg)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found.extend(_walk(member))  # type: ignore[arg-type]
    return found


def _docstring_from_comment(obj: griffe.Object) -> None:
    """Attach the ``#:`` comment lines right above ``obj``'s assignment as its docstring."""
    if obj.lineno is None or not isinstance(obj.filepath, Path):
        return
    lines = obj.lines_collection[obj.filepath]
    start = obj.lineno - 1
    while start > 0 and lines[start - 1].strip().startswith(COMMENT):
        start -= 1
    comment = [line.strip().removeprefix(COMMENT).strip() for line in lines[start : obj.lineno - 1]]
    if comment:
        obj.docstring = griffe.Docstring(
            "\n".join(comment), lineno=start + 1, endlineno=obj.lineno - 1, parent=obj
        )


def _markdown(text: str, scope: griffe.Object, pkg: griffe.Module) -> str:
    """Rewrite the roles and literal-block markers of a docstring found in ``scope``."""

    def render(match: re.Match[str]) -> str:
        tilde, name, call = match.groups()
        shown = (name.rsplit(".", 1)[-1] if tilde else name) + (call or "")
        target = _documented_path(name, scope, pkg)
        if target is None:
            return f"`{shown}`"
        # optional: a link where the reference renders the object, plain code where it does not
        # (an internal module the API pages leave out), never a broken link
        return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'

    return LITERAL_BLOCK.sub(":", ROLE.sub(render, text))


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
            return str(obj.path)
    return None


def _rendered(obj: Any) -> bool:
    """Whether the API pages show ``obj``: public all the way up, with a docstring."""
    if any(part.startswith("_") for part in obj.path.split(".")):
        return False
    return obj.is_module or obj.docstring is not None
