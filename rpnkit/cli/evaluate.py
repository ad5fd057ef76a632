"""``rpnkit evaluate RUN_DIR [--data FILE]``: a trained run's loss and metrics."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from rpnkit.cli.run_dir import add_run_arguments, load


def add_parsers(sub: Any) -> None:
    """Add ``evaluate`` to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "evaluate",
        help="a trained run's metrics on its test split or another file",
        description="Evaluate a trained run with its loss and metrics: on its test split "
        "(the dataset rebuilt from config.yaml) or on another labelled file.",
    )
    add_run_arguments(p)
    p.add_argument(
        "--data",
        metavar="FILE",
        help="a labelled file (.csv/.tsv with the feature and target columns, .npz with the "
        "feature and label arrays, .parquet) instead of the test split",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print the run's metrics (a table, or JSON with ``--json``)."""
    from rpnkit.components.trust import trusted_code
    from rpnkit.inference.evaluation import evaluate_run

    with trusted_code(args.trust_code):
        run = load(args)
        report = evaluate_run(run, args.data)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(f"{report.source}: {report.samples} samples")
    recorded = report.recorded or {}
    width = max(len(name) for name in report.metrics)
    for name, value in report.metrics.items():
        line = f"  {name:<{width}}  {_number(value)}"
        if name in recorded:
            line += f"   (recorded after {report.recorded_at}: {_number(recorded[name])})"
        print(line)
    return 0


def _number(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.6g}"
