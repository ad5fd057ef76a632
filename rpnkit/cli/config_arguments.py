"""The arguments of every command that reads a config: the file, its overrides, trust.

``rpnkit train``, ``rpnkit validate`` and ``rpnkit lr-find`` take the same ones, so a line that
works for one works for the others. Each command-line flag is a shorthand for a ``--set``
assignment (:func:`config_overrides`), so the config saved with a run records it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rpnkit.run.config import RunConfig

__all__ = ["add_config_arguments", "apply_threads", "config_overrides"]


def add_config_arguments(
    p: argparse.ArgumentParser, *, output_dir: bool = True, config_optional: bool = False
) -> None:
    """Add ``CONFIG``, ``--set``, ``--device``, ``--threads``, ``--trust-code`` to ``p``.

    Parameters
    ----------
    p
        The command's parser.
    output_dir
        Also add ``--output DIR`` (overrides ``output.dir``); a command whose ``-o`` means
        something else leaves it out.
    config_optional
        ``CONFIG`` may be left out (``rpnkit train --resume RUN`` reads the run's own).
    """
    if config_optional:
        p.add_argument(
            "config",
            metavar="CONFIG",
            nargs="?",
            help="YAML config file (rpnkit or tinybig form); left out with --resume RUN",
        )
    else:
        p.add_argument("config", metavar="CONFIG", help="YAML config file (rpnkit or tinybig form)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set learner.n_epochs=3 (repeatable)",
    )
    p.add_argument("--device", help="override the device (cpu, cuda, cuda:N, mps, auto)")
    if output_dir:
        p.add_argument("--output", dest="output_dir", metavar="DIR", help="override output.dir")
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="compute with N CPU threads (overrides the config's threads; default: torch's)",
    )
    p.add_argument(
        "--trust-code",
        action="store_true",
        help="let the config's dotted paths name any importable class (only for configs you "
        "trust as you trust code; by default only registered components and classes of each "
        "group's kind)",
    )


def config_overrides(args: argparse.Namespace) -> list[str]:
    """The ``--set`` assignments of ``args``, then those its shorthand flags stand for."""
    overrides = list(args.overrides)
    if args.device is not None:
        overrides.append(f"device={args.device}")
    if getattr(args, "output_dir", None) is not None:
        overrides.append(f"output.dir={args.output_dir}")
    if args.threads is not None:
        overrides.append(f"threads={args.threads}")
    return overrides


def apply_threads(config: RunConfig) -> None:
    """Set torch's CPU threads to the config's ``threads`` for this command's process.

    Only a command that computes calls it (``train``, ``lr-find``); ``validate`` leaves the
    process as it is.
    """
    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)
