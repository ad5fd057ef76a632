"""The run tables of ``rpnkit compare`` and ``rpnkit sweep``: TSV in a pipe, aligned columns on a
terminal, fitted to the terminal's width.

A table of runs is wide (the differing config keys, then a dozen numbers); on an 80-column
terminal it would wrap every row. :func:`format_table` fits it: run directories relative to
their common parent, dotted key headers by their shortest unique tail, and the columns that
still do not fit left out from the right (never the run, its status, the differing keys or the
sort column), named on a last line with how to see them all.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from collections.abc import Mapping, Sequence
from typing import IO, Any

__all__ = ["cell_text", "format_table", "say"]

#: Columns a fitted table never leaves out (with the differing keys and the ``keep`` ones).
_ALWAYS = ("run", "status")
#: Columns a fitted table leaves out first (then the others, from the right: the test
#: metrics before the validation ones the runs were selected on).
_DROP_FIRST = ("seconds", "best_epoch", "epochs", "params")
#: The widest a status cell is drawn in a fitted table (a failure's reason is longer).
_STATUS_WIDTH = 28


def cell_text(value: Any, precise: bool = False) -> str:
    """A cell as text: ``-`` for nothing, 4 significant digits (``precise``: 6), JSON for
    lists and mappings."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}" if precise else f"{value:.4g}"
    if isinstance(value, Mapping | list):
        return json.dumps(value, default=str)
    return str(value)


def format_table(
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    tsv: bool,
    width: int | None = None,
    keep: Sequence[str] = (),
) -> str:
    """The table as text: TSV, or columns aligned with two spaces (numbers to the right).

    Parameters
    ----------
    columns, rows
        The column names in order, and one mapping per row.
    tsv
        Tab-separated values with full precision (for a pipe), else aligned text.
    width
        The terminal's width: an aligned table wider than that is fitted (see the module
        documentation). ``None``: never fitted.
    keep
        Columns a fitted table keeps besides the run, its status and the differing keys (the
        sort column).
    """
    if tsv:
        cells = [[cell_text(row[c], precise=True) for c in columns] for row in rows]
        return "\n".join("\t".join(line) for line in [list(columns), *cells]) + "\n"
    text = _aligned(list(columns), list(rows), list(columns))
    if width is None or _widest(text) <= width:
        return text
    return _fitted(list(columns), list(rows), width, keep)


def _aligned(columns: list[str], rows: list[Mapping[str, Any]], headers: list[str]) -> str:
    cells = [[cell_text(row[c]) for c in columns] for row in rows]
    widths = [max(len(h), *(len(line[i]) for line in cells)) for i, h in enumerate(headers)]
    numeric = [all(isinstance(r[c], int | float) or r[c] is None for r in rows) for c in columns]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join(line(v) for v in [headers, *cells]) + "\n"


def _widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def _fitted(
    columns: list[str], rows: list[Mapping[str, Any]], width: int, keep: Sequence[str]
) -> str:
    """The aligned table made to fit ``width`` columns (see the module documentation)."""
    editable = [dict(row) for row in rows]
    lead = ""
    paths = [str(row["run"]) for row in editable if row.get("run")]
    if "run" in columns and paths:
        parent = _common_parent(paths)
        if parent:
            lead = f"runs in {parent}{os.sep}\n"
            for row in editable:
                if row.get("run"):
                    row["run"] = os.path.relpath(str(row["run"]), parent)
    if "status" in columns:
        for row in editable:
            row["status"] = _clip(str(row["status"]), _STATUS_WIDTH)
    headers = _short_headers(columns)
    fixed = {*_ALWAYS, *keep, *_key_columns(columns)}
    shown = list(columns)
    hidden: list[str] = []
    while True:
        table = _aligned(shown, list(editable), [headers[c] for c in shown])
        droppable = [c for c in shown if c not in fixed]
        if _widest(table) <= width or not droppable:
            break
        first = [c for c in _DROP_FIRST if c in droppable]
        dropped = first[0] if first else droppable[-1]
        shown.remove(dropped)
        hidden.append(dropped)
    hidden.sort(key=columns.index)
    over = _widest(table) - width
    if over > 0 and "status" in shown:  # what is left: shorten the failures' reasons further
        longest = max(len(str(row["status"])) for row in editable)
        limit = max(len("finished"), longest - over)
        for row in editable:
            row["status"] = _clip(str(row["status"]), limit)
        table = _aligned(shown, list(editable), [headers[c] for c in shown])
    if hidden:
        note = (
            f"{len(hidden)} more column(s): {', '.join(hidden)} (a wider terminal shows them; "
            "so do a pipe, as TSV, and --json)"
        )
        table += "\n".join(textwrap.wrap(note, max(width, 20))) + "\n"
    return lead + table


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key_columns(columns: Sequence[str]) -> list[str]:
    """The differing config keys: the columns between ``status`` and ``params``."""
    if "status" not in columns or "params" not in columns:
        return [c for c in columns if "." in c]
    return list(columns[columns.index("status") + 1 : columns.index("params")])


def _common_parent(paths: Sequence[str]) -> str:
    """The directory every path lies in, or ``""`` when there is none to take off."""
    parents = [os.path.dirname(p) for p in paths]
    try:
        common = os.path.commonpath(parents)
    except ValueError:  # absolute and relative paths mixed
        return ""
    return common if common not in ("", os.sep, ".") else ""


def _short_headers(columns: Sequence[str]) -> dict[str, str]:
    """Each dotted column by the shortest tail of its parts no other dotted column ends with."""
    dotted = [c.split(".") for c in columns if "." in c]
    headers = {c: c for c in columns}
    for parts in dotted:
        for size in range(1, len(parts) + 1):
            tail = parts[-size:]
            if sum(1 for other in dotted if other[-size:] == tail) == 1:
                headers[".".join(parts)] = ".".join(tail)
                break
    return headers


def say(text: str, stream: IO[str] | None = None) -> None:
    """Print a progress line on ``stream`` (stderr): on a terminal wrapped to its width, the
    continuation indented by 4; in a pipe as one line."""
    out = sys.stderr if stream is None else stream
    if out.isatty():
        width = shutil.get_terminal_size().columns
        text = "\n".join(textwrap.wrap(text, max(width, 20), subsequent_indent="    "))
    print(text, file=out)
