"""``rpnkit train`` and ``rpnkit validate``: run or check a YAML config.

``rpnkit train CONFIG --nproc-per-node N`` checks the config once, then becomes a ``torchrun``
(:mod:`torch.distributed.run`) launching ``python -m rpnkit train CONFIG ...`` on ``N``
processes of this machine, which train data-parallel; the processes meet on the loopback
interface through a free port chosen by the rendezvous.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from typing import TYPE_CHECKING, Any

from rpnkit.cli.config_arguments import add_config_arguments, apply_threads, config_overrides
from rpnkit.errors import ConfigError, RpnkitError

if TYPE_CHECKING:
    from rpnkit.run.config import RunConfig


def add_parsers(sub: Any) -> None:
    """Add ``train`` and ``validate`` to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "train",
        help="train a model from a YAML config",
        description="Train a model from a YAML config and write history, weights and config.",
    )
    add_config_arguments(p, config_optional=True)
    p.add_argument("--quiet", action="store_true", help="no progress bar or epoch table")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in the output directory (its files are overwritten)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="a tinybig config's keys that tinybig never read are errors, not warnings",
    )
    p.add_argument(
        "--resume",
        metavar="RUN",
        help="continue a stopped run exactly as it ran (its own config.yaml; no CONFIG "
        "needed): a run's output directory, its checkpoints/ directory or a checkpoint file; "
        "--set learner.n_epochs=N extends a finished run",
    )
    p.add_argument(
        "--nproc-per-node",
        type=int,
        metavar="N",
        help="train data-parallel on N processes of this machine, launched through torchrun "
        "(torch.distributed.run); for several machines run torchrun yourself",
    )
    p.set_defaults(func=cmd_train, builds_optimizers=True)

    p = sub.add_parser(
        "validate",
        help="check a config without training",
        description="Build every component of a config without training; print every problem.",
    )
    add_config_arguments(p)
    p.add_argument("more", nargs="*", metavar="CONFIG", help="more config files to check")
    p.add_argument(
        "--strict",
        action="store_true",
        help="a tinybig config's keys that tinybig never read are errors, not warnings",
    )
    p.set_defaults(func=cmd_validate, builds_optimizers=True)


def _load(args: argparse.Namespace, stream: Any = None) -> RunConfig:
    from rpnkit.run.config import load_config
    from rpnkit.tinybig.problems import (
        TinybigConfigError,
        TinybigIgnoredKeyWarning,
        TinybigNotice,
    )

    resume = None
    if getattr(args, "resume", None) is not None:
        from rpnkit.cli.resume import find_resume

        resume = find_resume(args.resume)
    source = args.config
    if source is None:
        if resume is None:
            raise ConfigError("train needs a CONFIG file, or --resume RUN to continue a run")
        source = resume.saved_config
        if source is None:
            raise ConfigError(
                f"--resume {args.resume!r}: the run has no config.yaml; give the CONFIG it ran "
                f"with: `rpnkit train CONFIG --resume {args.resume}`"
            )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TinybigIgnoredKeyWarning)
        warnings.simplefilter("always", TinybigNotice)
        config = load_config(source, config_overrides(args))
        if getattr(args, "overwrite", False):
            config.output["overwrite"] = True
    ignored = _lines(caught, TinybigIgnoredKeyWarning)
    if ignored and getattr(args, "strict", False):
        raise TinybigConfigError([f"{line} (--strict)" for line in ignored], str(args.config))
    if "RANK" not in os.environ:  # said once, by the command the user ran
        out = sys.stderr if stream is None else stream
        for line in ignored:
            print(f"warning: {line}", file=out)
        for line in _lines(caught, TinybigNotice):
            print(f"notice: {line}", file=out)
    for other in caught:
        if not issubclass(other.category, (TinybigIgnoredKeyWarning, TinybigNotice)):
            warnings.showwarning(
                other.message, other.category, other.filename, other.lineno, other.file, other.line
            )
    if resume is not None:
        saved = resume.saved_config
        if saved is not None:  # a CONFIG or --set must agree with what the run trained
            resume.check_same(load_config(saved), config)
        where = resume.apply(config, output_given=args.output_dir is not None)
        if "RANK" not in os.environ:  # said once, by the command the user ran
            print(where, file=sys.stderr)
    elif "RANK" not in os.environ and getattr(args, "func", None) is cmd_train:
        from rpnkit.run.outputs import next_version

        config, moved = next_version(config)  # chosen once, for every process of a launch
        if moved is not None:
            print(moved, file=sys.stderr)
            args.output_dir = config.output["dir"]
    return config


def _lines(caught: list[warnings.WarningMessage], category: type[Warning]) -> list[str]:
    """The messages of ``category`` among ``caught``, each once, in order."""
    return list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, category)))


def cmd_train(args: argparse.Namespace) -> int:
    """Run the training described by the config (on several processes with a launch).

    SIGTERM stops training like Ctrl-C: what was learned is kept (see
    :func:`rpnkit.run.runner.run_config`) and the command exits with 130. Only the first
    interrupt counts: a repeated one (a second Ctrl-C, the SIGTERM a sweep's trial gets from
    its parent-death signal after the sweep's own) is ignored, so it cannot cut short the
    saving of what was learned, nor, in the command's own process, its exit.
    """
    from rpnkit.components.trust import trusted_code

    interrupt = _FirstInterrupt()
    previous = {number: signal.signal(number, interrupt) for number in _INTERRUPTS}
    try:
        with trusted_code(args.trust_code):
            return _train(args)
    finally:
        if not (interrupt.received and getattr(args, "own_process", False)):
            for number, handler in previous.items():
                signal.signal(number, handler)


def warn_overrides() -> None:
    """One ``warning:`` line on stderr per registry entry a plugin replaced (override=True)."""
    from rpnkit.plugins.state import get_registry

    for e in get_registry().entries():
        if e.replaces:
            print(
                f"warning: plugin {e.plugin!r} overrides {e.group} {e.name!r} of plugin "
                f"{e.replaces!r}",
                file=sys.stderr,
            )


#: The signals that stop ``rpnkit train`` as Ctrl-C does.
_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


class _FirstInterrupt:
    """A handler of :data:`_INTERRUPTS`: the first raises ``KeyboardInterrupt`` and has the
    rest ignored (``SIG_IGN``: also while the interpreter exits, when Python's own handlers
    are gone), since the command is already keeping what was learned, then leaving."""

    def __init__(self) -> None:
        self.received = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.received = True
        for number in _INTERRUPTS:
            signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt


def _train(args: argparse.Namespace) -> int:
    from rpnkit.cli.launcher import launch, launched

    if args.nproc_per_node is not None:
        return launch(args, _load)
    if "TORCHELASTIC_RUN_ID" in os.environ:  # a process of a launch
        return launched(args, _train_here)
    return _train_here(args)


def _train_here(args: argparse.Namespace) -> int:
    """Train in this process (alone, or as one process of a launch)."""
    from rich.console import Console

    from rpnkit.run.lock import run_lock
    from rpnkit.run.runner import run_config

    config = _load(args)
    apply_threads(config)  # the command's own process keeps the config's threads
    warn_overrides()
    with run_lock(config.output.get("dir")):  # a second train into it is refused
        result = run_config(config, verbose=not args.quiet)
    if result.output_dir is not None and not args.quiet:
        Console(stderr=True).print(f"results written to [bold]{result.output_dir}[/]")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Print every problem of the config, or a short summary when it is valid."""
    from rpnkit.components.trust import trusted_code

    files = [args.config, *args.more]
    warn_overrides()
    if len(files) == 1:
        with trusted_code(args.trust_code):
            return _validate(args)
    worst = 0
    for path in files:  # each file on its own: one failing does not hide the others
        try:
            with trusted_code(args.trust_code):
                code = _validate(argparse.Namespace(**{**vars(args), "config": path}))
        except RpnkitError as exc:
            where = "" if str(exc).startswith(path) else f"{path}: "
            print(f"error: {where}{exc}", file=sys.stderr)
            code = 2
        worst = max(worst, code)
    return worst


def _validate(args: argparse.Namespace) -> int:
    from rpnkit.run.runner import validate

    try:
        config = _load(args, sys.stdout)
    except ConfigError as exc:
        found = getattr(exc, "problems", None)  # a tinybig config lists all of its problems
        if not found:
            raise
        for problem in found:
            print(f"error: {problem}")
        print(f"{len(found)} problem(s) in {args.config}")
        return 2
    parts, problems = validate(config)  # every check train makes, creating nothing
    if parts is None:
        for problem in problems:
            print(f"error: {problem}")
        print(f"{len(problems)} problem(s) in {args.config}")
        return 2
    n_params = sum(p.numel() for p in parts.model.parameters())
    print(f"{args.config}: OK")
    print(f"  data:    {config.data['name']} {config.data['parameters'] or ''}".rstrip())
    print(f"  model:   {config.model['name']} ({n_params:,} parameters)")
    if parts.sizes:
        from rpnkit.run.runner import sizes_line

        print(f"  auto:    {sizes_line(parts.sizes, parts.data)}")
    for key in ("loss", "optimizer", "lr_scheduler"):
        spec = getattr(config, key)
        if spec is not None:
            print(f"  {key + ':':<8} {spec['name']} {spec['parameters'] or ''}".rstrip())
    if config.metrics:
        print(f"  metric:  {', '.join(m['name'] for m in config.metrics)}")
    return 0
