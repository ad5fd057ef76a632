"""``rpnkit train`` and ``rpnkit validate``: run or check a YAML config."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rpnkit.config import RunConfig


def _add_config_arguments(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--output", metavar="DIR", help="override output.dir")


def add_parsers(sub: Any) -> None:
    """Add ``train`` and ``validate`` to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "train",
        help="train a model from a YAML config",
        description="Train a model from a YAML config and write history, weights and config.",
    )
    _add_config_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar or epoch table")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "validate",
        help="check a config without training",
        description="Build every component of a config without training; print every problem.",
    )
    _add_config_arguments(p)
    p.set_defaults(func=cmd_validate)


def _load(args: argparse.Namespace) -> RunConfig:
    from rpnkit.config import load_config

    overrides = list(args.overrides)
    if args.device is not None:
        overrides.append(f"device={args.device}")
    if args.output is not None:
        overrides.append(f"output.dir={args.output}")
    return load_config(args.config, overrides)


def cmd_train(args: argparse.Namespace) -> int:
    """Run the training described by the config."""
    from rich.console import Console

    from rpnkit.runner import run_config

    config = _load(args)
    result = run_config(config, verbose=not args.quiet)
    if result.output_dir is not None and not args.quiet:
        Console(stderr=True).print(f"results written to [bold]{result.output_dir}[/]")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Print every problem of the config, or a short summary when it is valid."""
    from rpnkit.runner import assemble

    config = _load(args)
    parts, problems = assemble(config, verbose=False)
    if parts is None:
        for problem in problems:
            print(f"error: {problem}")
        print(f"{len(problems)} problem(s) in {args.config}")
        return 2
    n_params = sum(p.numel() for p in parts.model.parameters())
    print(f"{args.config}: OK")
    print(f"  data:    {config.data['name']} {config.data['parameters'] or ''}".rstrip())
    print(f"  model:   {config.model['name']} ({n_params:,} parameters)")
    for key in ("loss", "optimizer", "lr_scheduler"):
        spec = getattr(config, key)
        if spec is not None:
            print(f"  {key + ':':<8} {spec['name']} {spec['parameters'] or ''}".rstrip())
    if config.metrics:
        print(f"  metric:  {', '.join(m['name'] for m in config.metrics)}")
    return 0
