"""The arguments every command on a trained run shares: ``RUN_DIR``, ``--device``,
``--checkpoint``, ``--trust-code``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rpnkit.inference.run import LoadedRun


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``RUN_DIR``, ``--device``, ``--checkpoint`` and ``--trust-code`` to a parser."""
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run's output directory (output.dir)")
    p.add_argument("--device", default="cpu", help="where the model runs (default cpu)")
    p.add_argument(
        "--checkpoint",
        choices=("best", "last"),
        default="last",
        help="the weights to use: last (model.pt, what the run ended with; default) or best "
        "(best.pt, the best epoch's, kept with output.save_best)",
    )
    p.add_argument(
        "--trust-code",
        action="store_true",
        help="let the run's config.yaml name any importable class (only for runs you trust as "
        "you trust code)",
    )


def load(args: argparse.Namespace) -> LoadedRun:
    """The run ``args.run_dir`` names, loaded on ``args.device``."""
    from rpnkit.inference.run import load_run

    return load_run(args.run_dir, device=args.device, checkpoint=args.checkpoint)
