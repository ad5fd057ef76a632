"""``rpnkit list``, ``rpnkit show`` and ``rpnkit plugins``: browse the registry."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from typing import Any

from rpnkit.components.registry import ComponentInfo
from rpnkit.errors import ComponentNotFoundError, did_you_mean
from rpnkit.plugins.state import get_registry


def add_parsers(sub: Any) -> None:
    """Add the browsing commands to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "list",
        help="list registered components",
        description="List registered components: one table per group.",
    )
    p.add_argument("groups", nargs="*", metavar="GROUP", help="only these groups")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--plugin", metavar="NAME", help="only components of this plugin")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "show",
        help="show one component",
        description="Show a component's target, plugin, signature and summary.",
    )
    p.add_argument("name", metavar="NAME", help="component name, alias or GROUP/NAME")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "plugins",
        help="list loaded plugins",
        description="List loaded plugins with their distribution, and failed ones with the error.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_plugins)


def _entry_dict(e: ComponentInfo, distributions: dict[str, str | None]) -> dict[str, Any]:
    return {
        "group": e.group,
        "name": e.name,
        "aliases": list(e.aliases),
        "plugin": e.plugin,
        "replaces": e.replaces,
        "distribution": distributions.get(e.plugin),
        "target": e.target_path,
        "summary": e.summary,
    }


def cmd_list(args: argparse.Namespace) -> int:
    """Print every component, grouped, as rich tables or JSON."""
    registry = get_registry()
    group_names = list(args.groups) or [g.name for g in registry.groups()]
    if args.plugin is not None:
        plugins = {e.plugin for e in registry.entries()}
        if args.plugin not in plugins:
            raise ComponentNotFoundError(
                f"--plugin {args.plugin!r} registered no component"
                f"{did_you_mean(args.plugin, plugins)}; see `rpnkit plugins`"
            )
    tables = {
        registry.group_info(g).name: registry.entries(g, plugin=args.plugin) for g in group_names
    }
    dists: dict[str, str | None] = {}
    if args.json:
        from rpnkit.plugins.state import get_plugin_manager

        dists = {r.name: r.distribution for r in get_plugin_manager().records.values()}
    rows_by_group = {g: [_entry_dict(e, dists) for e in rows] for g, rows in tables.items()}
    if args.json:
        print(json.dumps(rows_by_group, indent=2))
    elif sys.stdout.isatty():
        _print_tables(registry, rows_by_group)
    else:
        _print_plain(rows_by_group)
    return 0


#: The columns of ``rpnkit list`` (row key, header), after the group; a row is the dict
#: :func:`_entry_dict` builds, so a new column is one key there and one pair here.
LIST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "name"),
    ("aliases", "aliases"),
    ("plugin", "plugin"),
    ("summary", "summary"),
)


def _column(row: dict[str, Any], key: str) -> str:
    """The text of one cell; an overriding entry's plugin says which plugin it replaces."""
    if key == "plugin" and row.get("replaces"):
        return f"{row['plugin']} (replaces {row['replaces']})"
    return _cell(row[key])


def _cell(value: Any) -> str:
    text = ",".join(value) if isinstance(value, list) else "" if value is None else str(value)
    return " ".join(text.split())  # no tab or newline inside a cell


def _print_plain(rows_by_group: dict[str, list[dict[str, Any]]]) -> None:
    """Tab-separated, one line per component, full names: for pipes, grep and cut."""
    lines = ["\t".join(["group", *(header for _, header in LIST_COLUMNS)])]
    for group, rows in rows_by_group.items():
        lines += ["\t".join([group, *(_column(row, k) for k, _ in LIST_COLUMNS)]) for row in rows]
    sys.stdout.write("\n".join(lines) + "\n")


def _print_tables(registry: Any, rows_by_group: dict[str, list[dict[str, Any]]]) -> None:
    """One aligned, coloured table per group on a terminal, every line within its width.

    Drawn by hand rather than with rich's tables, which take about half a second to lay out
    the couple of hundred rows (issue 14's budget for the whole command is 0.35 s). Every
    cell wraps inside its column (:func:`_fit_columns` narrows the aliases, then the plugin,
    then the name when the terminal is narrow), the aliases at their separators
    (:func:`_alias_lines`); on a very narrow terminal the summary goes on the lines below the
    row.
    """
    import shutil

    width = shutil.get_terminal_size().columns
    styles = {"name": "1;36", "aliases": "2", "plugin": "35", "summary": ""}
    keys = [k for k, _ in LIST_COLUMNS]
    for group, rows in rows_by_group.items():
        if not rows:
            continue
        info = registry.group_info(group)
        cells = [
            {
                k: _column(row, k).replace(",", ", ") if k == "aliases" else _column(row, k)
                for k in keys
            }
            for row in rows
        ]
        natural = {k: max(len(h), *(len(c[k]) for c in cells)) for k, h in LIST_COLUMNS[:-1]}
        title = _lines(f"{info.name}: {info.summary}", width - 1)
        out = [f"\x1b[1m{info.name}\x1b[0m{title[0][len(info.name) :]}", *title[1:]]
        if sum(natural.values()) + 2 * len(natural) + _MIN_SUMMARY > width - 1:
            out += _stacked(cells, width, styles)  # the columns would have to squeeze
            sys.stdout.write("\n".join(out) + "\n\n")
            continue
        widths, room = _fit_columns(natural, width)
        header = "  ".join(h.ljust(widths.get(k, 0)) for k, h in LIST_COLUMNS[:-1])
        header += "  summary" if room else ""
        out.append(f"\x1b[1;4m{header.rstrip()[: width - 1]}\x1b[0m")
        for c in cells:
            parts = {k: _lines(c[k], widths[k]) for k in keys[:-1]}
            parts["aliases"] = _alias_lines(c["aliases"], widths["aliases"])
            summary = _lines(c["summary"], room) if room else []
            height = max(len(lines) for lines in [*parts.values(), summary])
            for n in range(height):
                line = "  ".join(
                    _styled(parts[k][n] if n < len(parts[k]) else "", widths[k], styles[k])
                    for k in keys[:-1]
                )
                text = summary[n] if n < len(summary) else ""
                out.append(f"{line}  {text}".rstrip() if text else line.rstrip())
            if not room:  # too narrow for a summary column: it goes below, indented
                out += ["    " + line for line in _lines(c["summary"], max(width - 5, 10))]
        sys.stdout.write("\n".join(out) + "\n\n")


def _stacked(cells: list[dict[str, str]], width: int, styles: dict[str, str]) -> list[str]:
    """A group's rows for a terminal too narrow for its columns: the name and its summary on
    the first lines, the aliases and the plugin dimmed below the summary, nothing squeezed
    into a column narrower than its words."""
    usable = width - 1
    name_width = min(max(len(c["name"]) for c in cells), max(usable // 3, 14))
    indent = " " * (name_width + 2)
    room = max(usable - name_width - 2, 20)
    header = f"{'name'.ljust(name_width)}  summary (aliases · plugin below)"
    out = [f"\x1b[1;4m{header[:usable]}\x1b[0m"]
    for c in cells:
        summary = _lines(c["summary"], room)
        name = _lines(c["name"], usable)
        if len(c["name"]) > name_width:  # a long name has the first line to itself
            out += [_styled(part, 0, styles["name"]) for part in name]
            out += [indent + text for text in summary]
        else:
            out.append(f"{_styled(c['name'], name_width, styles['name'])}  {summary[0]}".rstrip())
            out += [indent + text for text in summary[1:]]
        detail = f"{c['aliases']} · {c['plugin']}" if c["aliases"] else c["plugin"]
        out += [indent + _styled(text, 0, styles["aliases"]) for text in _lines(detail, room)]
    return out


#: The narrowest summary column worth keeping beside the others.
_MIN_SUMMARY = 24
#: The narrowest each column may become, in the order they give way.
_MIN_WIDTHS = {"aliases": 10, "plugin": 10, "name": 14}


def _fit_columns(natural: dict[str, int], width: int) -> tuple[dict[str, int], int]:
    """Column widths that fit ``width`` with a summary column, and that column's width.

    The aliases give way first, then the plugin, then the name; a summary column of 0 means
    even the narrowest columns leave no room, and the summary goes below each row.
    """
    widths = dict(natural)
    usable = width - 1  # a line ending exactly at the edge wraps on some terminals

    def room() -> int:
        return usable - sum(widths.values()) - 2 * len(widths)

    for key, narrowest in _MIN_WIDTHS.items():
        if room() >= _MIN_SUMMARY:
            break
        widths[key] = max(min(widths[key], narrowest), widths[key] - (_MIN_SUMMARY - room()))
    if room() < _MIN_SUMMARY:
        return widths, 0
    return widths, room()


def _lines(text: str, width: int) -> list[str]:
    """``text`` wrapped to ``width`` (long names broken where they must be)."""
    import textwrap

    return textwrap.wrap(text, max(width, 1), break_on_hyphens=False) or [""]


def _alias_lines(text: str, width: int) -> list[str]:
    """The aliases cell ``text`` (``"a, b, c"``) in ``width`` columns: on one line when it fits,
    else one alias per line; only an alias longer than the column is broken, after a ``_`` or
    ``.`` where one falls within the width."""
    if len(text) <= width or not text:
        return [text]
    lines = []
    for alias in text.split(", "):
        while len(alias) > width:
            cut = max(alias.rfind("_", 0, width), alias.rfind(".", 0, width)) + 1
            cut = cut if cut > width // 2 else max(width, 1)
            lines.append(alias[:cut])
            alias = alias[cut:]
        lines.append(alias)
    return lines


def _styled(text: str, width: int, style: str) -> str:
    return f"\x1b[{style}m{text.ljust(width)}\x1b[0m" if style else text.ljust(width)


def _parameters(obj: Any) -> list[inspect.Parameter] | None:
    try:
        return list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return None


def _short_signature(name: str, params: list[inspect.Parameter] | None) -> str:
    """``Name(a, b=1, *, c=None)``: parameter names and defaults, without annotations."""
    if params is None:
        return f"{name}(...)"
    parts: list[str] = []
    star_done = False
    for p in params:
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            star_done = True
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        elif p.default is inspect.Parameter.empty:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={p.default!r}")
    return f"{name}({', '.join(parts)})"


def _annotation(p: inspect.Parameter) -> str:
    if p.annotation is inspect.Parameter.empty:
        return ""
    if isinstance(p.annotation, str):
        return p.annotation
    return inspect.formatannotation(p.annotation)


def cmd_show(args: argparse.Namespace) -> int:
    """Print one component's target, plugin, signature and docstring summary."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    registry = get_registry()
    found = registry.find(args.name)
    if not found:
        all_names = {n for e in registry.entries() for n in (e.name, *e.aliases)}
        raise ComponentNotFoundError(
            f"no component named {args.name!r}{did_you_mean(args.name, all_names)}; "
            "run `rpnkit list` to see all"
        )
    console = Console()
    plain = not sys.stdout.isatty()  # piped: "key: value" lines, no box drawing
    for e in found:
        obj = e.load()
        doc = (inspect.getdoc(obj) or "").strip().split("\n\n", 1)[0].replace("\n", " ")
        table = Table(show_header=False, title=f"{e.group}/{e.name}", title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        params = _parameters(obj)
        rows = {
            "target": e.target_path,
            "plugin": e.plugin,
            "replaces": f"the entry of plugin {e.replaces}" if e.replaces else "-",
            "aliases": ", ".join(e.aliases) or "-",
            "summary": e.summary or "-",
            "signature": _short_signature(getattr(obj, "__name__", e.name), params),
            "docstring": doc or "-",
        }
        if plain:
            print(f"{e.group}/{e.name}")
            print("\n".join(f"{key}: {value}" for key, value in rows.items()))
            for p in params or []:
                default = "required" if p.default is inspect.Parameter.empty else repr(p.default)
                print(f"parameter: {p.name}\t{_annotation(p)}\t{default}")
            continue
        for key, value in rows.items():
            table.add_row(key, escape(value))
        console.print(table)
        if params:
            ptable = Table(title="parameters", title_justify="left")
            for column in ("name", "type", "default"):
                ptable.add_column(column, overflow="fold")
            for p in params:
                default = "required" if p.default is inspect.Parameter.empty else repr(p.default)
                if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                    default = "-"
                ptable.add_row(escape(p.name), escape(_annotation(p)), escape(default))
            console.print(ptable)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """Print loaded plugins (distribution, version) and failed ones (error)."""
    from rpnkit.plugins.state import get_plugin_manager

    get_registry()  # running the hooks can record failures too
    records = list(get_plugin_manager().records.values())
    if args.json:
        print(json.dumps([vars(r) for r in records], indent=2))
        return 0
    if not sys.stdout.isatty():  # piped: tab-separated lines, no box drawing
        print("\t".join(("name", "source", "module", "distribution", "status", "reason")))
        for r in records:
            dist = f"{r.distribution} {r.version}" if r.distribution else "-"
            reason = " ".join((r.error or r.warning or "").split())
            print("\t".join((r.name, r.source, r.module, dist, r.status, reason)).rstrip())
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="rpnkit plugins", title_justify="left")
    for column in ("name", "source", "module", "distribution", "status"):
        table.add_column(column, no_wrap=column in ("name", "status"), overflow="fold")
    console = Console()
    reasons = []
    for r in records:
        dist = f"{r.distribution} {r.version}" if r.distribution else "-"
        status = "[green]loaded[/]" if r.status == "loaded" else "[red]failed[/]"
        table.add_row(escape(r.name), r.source, escape(r.module), escape(dist), status)
        if r.status != "loaded" or r.warning:
            reasons.append((r.name, r.status, r.error or r.warning or ""))
    console.print(table)
    for name, status, reason in reasons:
        # its own line, wrapped at the width (never cut): a reason is what one acts on
        what = "[red]failed[/]" if status == "failed" else "[yellow]warning[/]"
        console.print(f"{escape(name)} {what}: {escape(reason)}", overflow="fold")
    return 0
