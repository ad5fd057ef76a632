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
    from rpnkit.cli import (
        compare,
        components,
        evaluate,
        export,
        lr_find,
        plot,
        predict,
        sweep,
        train,
    )

    parser = argparse.ArgumentParser(
        prog="rpnkit",
        description="Train Reconciled Polynomial Network models through a plugin registry.",
    )
    parser.add_argument("--version", action="version", version=f"rpnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (components, train, plot, compare, sweep, predict, evaluate, export, lr_find):
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, own_process: bool | None = None) -> int:
    """Run the command line; return the process exit code.

    The command tunes its own process (a library call never does): huge pages for torch's
    large CPU tensors (:mod:`rpnkit.cli.huge_pages`), MLflow's file store allowed
    (:func:`~rpnkit.tracking.mlflow_logger.allow_file_store`), and, for a command that builds
    optimizers, ``torch._dynamo`` left unimported (:func:`~rpnkit.learner.dynamo_import.install`,
    on the torch versions it was verified on). Warnings print as one ``warning:`` line while the
    command runs; the previous warning display is back when it returns.

    Parameters
    ----------
    argv
        The arguments; ``None``: this process's own (``sys.argv``).
    own_process
        Whether this call is the process's command (default: when ``argv`` is ``None``;
        a trial forked by the sweep's launcher is one too). Such a command may leave the
        process as it is when it ends: ``sweep`` ends it at once, without tearing its modules
        down (:func:`~rpnkit.cli.leave.leave`: its process holds Optuna, scikit-learn and
        matplotlib), and an interrupted ``train`` keeps ignoring repeated interrupts while
        the process exits.
    """
    from rpnkit.cli.huge_pages import prefer_huge_pages
    from rpnkit.tracking.mlflow_logger import allow_file_store

    prefer_huge_pages()  # before anything imports torch
    allow_file_store()
    parser = build_parser()
    given = sys.argv[1:] if argv is None else list(argv)
    if not given:  # bare `rpnkit`: what it can do, not an error
        parser.print_help()
        return 0
    args = parser.parse_args(given)
    args.own_process = argv is None if own_process is None else own_process
    with warnings.catch_warnings():  # restores warnings.showwarning when the command ends
        warnings.showwarning = _show_warning
        if getattr(args, "builds_optimizers", False):
            from rpnkit.learner.dynamo_import import install

            install()
        code = _run(args)
    if args.own_process and getattr(args, "leaves_at_once", False):
        from rpnkit.cli.leave import leave

        leave(code)
    return code


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command, turning a user mistake into an ``error:`` line and exit code 2."""
    try:
        result: int = args.func(args)
    except RpnkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        print(f"error: {str(exc) or 'interrupted'}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`rpnkit list | head`): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return result
