"""``rpnkit predict RUN_DIR [INPUT] -o OUT.csv``: a trained run's predictions for new rows.

A run trained on a graph predicts all its nodes at once: INPUT holds every node's features
in node order, or is left out to predict the run's own graph (one row per node, its id first).
"""

from __future__ import annotations

import argparse
from typing import Any

from rpnkit.cli.run_dir import add_run_arguments, load


def add_parsers(sub: Any) -> None:
    """Add ``predict`` to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "predict",
        help="predict new rows with a trained run",
        description="Prepare INPUT's rows as the run's training data was (standardisation "
        "of the training split) and write one prediction per row: the label in the "
        "training file's own names and a probability per class, or the predicted values. "
        "A run trained on a graph predicts every node at once: leave INPUT out to predict "
        "its own graph's nodes (node id, then the prediction).",
    )
    add_run_arguments(p)
    p.add_argument(
        "input",
        metavar="INPUT",
        nargs="?",
        help="features to predict: .csv/.tsv with the training feature columns, .npz, .npy "
        "or .parquet (a graph run: every node's row in node order, or none for its own graph)",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT.csv", help="the CSV to write")
    p.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    """Write the predictions of ``args.input`` to ``args.output`` (atomically)."""
    from rpnkit.atomic import check_writable
    from rpnkit.components.trust import trusted_code
    from rpnkit.errors import ConfigError

    check_writable(args.output, "-o")  # refused before predicting, not after
    with trusted_code(args.trust_code):
        run = load(args)
    predictions = run.predict(args.input)
    try:
        out = predictions.write_csv(args.output)
    except OSError as exc:
        raise ConfigError(f"-o {args.output!r} cannot be written: {exc.strerror}") from None
    print(f"wrote {len(predictions)} prediction(s) to {out}")
    return 0
