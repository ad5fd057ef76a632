"""``rpnkit export RUN_DIR --format torchscript|exported-program|onnx``: a deployable model."""

from __future__ import annotations

import argparse
from typing import Any

from rpnkit.cli.run_dir import add_run_arguments, load


def add_parsers(sub: Any) -> None:
    """Add ``export`` to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "export",
        help="export a trained run's model (TorchScript, torch.export, ONNX)",
        description="Export a trained run's model, standardisation included (it takes raw "
        "features and returns the model's outputs), then reload the file and compare it "
        "with the model on sample batches.",
    )
    add_run_arguments(p)
    p.add_argument(
        "--format",
        required=True,
        metavar="FORMAT",
        help="torchscript (traced), exported-program (torch.export, .pt2) or onnx (the onnx extra)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the file to write (default in RUN_DIR: model.torchscript.pt, model.pt2 or "
        "model.onnx)",
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the export and say how closely it matched the model."""
    from rpnkit.atomic import check_writable
    from rpnkit.components.trust import trusted_code
    from rpnkit.inference.export import export_run

    if args.output is not None:  # refused before the export, not after it
        check_writable(args.output, "-o")
    with trusted_code(args.trust_code):
        run = load(args)
    result = export_run(run, args.format, args.output)
    print(
        f"wrote {result.path} ({result.format}; reloaded, largest difference from the model "
        f"{result.max_difference:.2g})"
    )
    return 0
