"""The ``rpnkit`` command line.

Every command is a small module in this package exposing ``add_parser(subparsers)``; the
parser stores the function to run as ``func``. User mistakes (:class:`~rpnkit.errors.RpnkitError`)
end with exit code 2 and a one-line ``error:`` message, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from rpnkit.errors import RpnkitError

__all__ = ["main"]

EXIT_USAGE = 2


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Print warnings as one ``warning:`` line on stderr (no source line)."""
    print(f"warning: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``rpnkit`` argument parser with every subcommand."""
    from rpnkit import __version__
    from rpnkit.cli import components, evaluate, export, lr_find, plot, predict, train

    parser = argparse.ArgumentParser(
        prog="rpnkit",
        description="Train Reconciled Polynomial Network models through a plugin registry.",
    )
    parser.add_argument("--version", action="version", version=f"rpnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (components, train, plot, predict, evaluate, export, lr_find):
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    from rpnkit.cli.huge_pages import prefer_huge_pages

    prefer_huge_pages()  # before anything imports torch
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        result: int = args.func(args)
    except RpnkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        print(f"error: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`rpnkit list | head`): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return result
