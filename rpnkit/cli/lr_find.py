"""``rpnkit lr-find``: the learning-rate range test on a config's model and data.

Builds the config's data, model and learner as ``rpnkit train`` would, runs
:meth:`~rpnkit.learner.BackwardLearner.lr_find` (see :mod:`rpnkit.learner.lr_finder`),
prints the suggested learning rate and the ``--set`` arguments that train with it, and draws
the curve with ``-o FILE``. Nothing else is written; the model is not saved.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from rpnkit.cli.config_arguments import add_config_arguments, apply_threads, config_overrides
from rpnkit.errors import ConfigError


def add_parsers(sub: Any) -> None:
    """Add ``lr-find`` to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "lr-find",
        help="find a learning rate with the LR range test",
        description="Run the learning-rate range test on a config's model and data: print "
        "the suggested learning rate and the --set line to use it, and draw the curve.",
    )
    add_config_arguments(p, output_dir=False)
    p.add_argument(
        "-o", "--output", metavar="IMAGE", help="draw the curve into this image (needs matplotlib)"
    )
    p.add_argument("--min-lr", type=float, default=1e-7, help="first rate (default 1e-7)")
    p.add_argument("--max-lr", type=float, default=10.0, help="last rate (default 10)")
    p.add_argument("--steps", type=int, default=100, help="batches of the ramp (default 100)")
    p.set_defaults(func=cmd_lr_find, builds_optimizers=True)


def yaml_float(value: float) -> str:
    """``value`` with 3 significant digits, written so YAML reads it back as a float."""
    text = f"{value:.3g}"
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


def set_arguments(config_path: str, overrides: list[str], optimizer: str, lr: str) -> list[str]:
    """The ``--set`` assignments that train ``config_path`` with learning rate ``lr``.

    Only ``learner.optimizer.parameters.lr`` when that is enough, else the optimizer's name
    too (a config naming its optimizer by a plain string, or none); each candidate is checked
    by loading the config with it.
    """
    from rpnkit.run.config import load_config

    lr_line = f"learner.optimizer.parameters.lr={lr}"
    for candidate in ([lr_line], [f"learner.optimizer.name={optimizer}", lr_line]):
        with contextlib.suppress(ConfigError):
            spec = load_config(config_path, [*overrides, *candidate]).optimizer
            if spec is not None and spec["name"] == optimizer:
                return candidate
    return [f"learner.optimizer.name={optimizer}", lr_line]


def check_image(path: str) -> None:
    """Refuse, before the range test, an ``-o`` image that could not be drawn or written.

    Raises
    ------
    ConfigError
        One line: matplotlib missing, a suffix matplotlib cannot write (naming those it
        can), or a place that cannot be written (:func:`~rpnkit.atomic.check_writable`).
    """
    from rpnkit.atomic import check_writable

    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(
            "-o draws the lr-find curve, which needs matplotlib; install it with: "
            "pip install 'rpnkit[plot]'"
        ) from None
    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise ConfigError(
            f"-o {path!r}: {('.' + suffix) if suffix else 'a name without a suffix'} is not an "
            f"image type matplotlib writes; use one of {', '.join(sorted(formats))}"
        )
    check_writable(path, "-o")


def cmd_lr_find(args: argparse.Namespace) -> int:
    """Run the range test of the config and report it."""
    from rpnkit.components.trust import trusted_code

    with trusted_code(args.trust_code):
        return _lr_find(args)


def _lr_find(args: argparse.Namespace) -> int:
    from rpnkit.learner.optimization import DEFAULT_OPTIMIZER
    from rpnkit.learner.seeding import seed_everything
    from rpnkit.run.config import load_config
    from rpnkit.run.runner import assemble_or_raise

    if args.output is not None:  # refused before the range test, not after it
        check_image(args.output)
    overrides = config_overrides(args)
    config = load_config(args.config, overrides)
    apply_threads(config)
    if config.seed is not None:
        seed_everything(config.seed)
    parts = assemble_or_raise(config, verbose=False)
    result = parts.learner.lr_find(
        parts.model,
        parts.data,
        device=config.device,
        min_lr=args.min_lr,
        max_lr=args.max_lr,
        steps=args.steps,
    )
    first, last = result.lrs[0], result.lrs[-1]
    print(f"lr-find: {len(result.lrs)} steps, lr {first:.3g} to {last:.3g}; {result.stop_reason}")
    if result.suggestion is None:
        print("no suggestion: the curve is too short; raise --steps or --max-lr")
    else:
        lr = yaml_float(result.suggestion)
        name = config.optimizer["name"] if config.optimizer else str(DEFAULT_OPTIMIZER["name"])
        assignments = set_arguments(args.config, overrides, name, lr)
        print(f"suggested learning rate: {lr} (steepest descent of the smoothed loss)")
        line = " ".join(f"--set {a}" for a in [*args.overrides, *assignments])
        flags = "".join(
            f" --{flag} {value}"
            for flag, value in (("device", args.device), ("threads", args.threads))
            if value is not None
        )
        print(f"train with it: rpnkit train {args.config}{flags} {line}")
    if args.output is not None:
        result.plot(Path(args.output))
        print(f"curve written to {args.output}")
    return 0
