"""``rpnkit sweep CONFIG``: search a config's keys with Optuna (``pip install 'rpnkit[sweep]'``).

The search space is written against the config's own keys, in a ``sweep:`` section of the file
or with ``--space KEY=VALUES`` (:mod:`rpnkit.sweep.space`). Everything is checked before the
first trial (every problem printed, one line each, nothing written); then the trials run as
ordinary run directories ``DIR/trial-NNNN`` (:mod:`rpnkit.sweep.runner`), and the result is the
compare table of the trials, Optuna's importance of each key, ``DIR/sweep.png`` and
``DIR/sweep.csv``. ``--resume DIR`` finishes a stopped sweep; ``--storage URL`` keeps the study
in an RDB, which ``--join URL --study NAME`` workers on other machines share.

The command starts its trial launcher first (:mod:`rpnkit.sweep.launcher`), whose imports run
while the command reads and checks its input; the checks' one build runs in a child of the
launcher too, so this process never imports torch (nor pays for its teardown on exit).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rpnkit.cli.table import say
from rpnkit.errors import ConfigError

if TYPE_CHECKING:
    import optuna


from rpnkit.sweep.plan import PRUNERS, SAMPLERS

_ATTR = "rpnkit_sweep"


def add_parsers(sub: Any) -> None:
    """Add ``sweep`` to the ``rpnkit`` subparsers."""
    p = sub.add_parser(
        "sweep",
        help="search config keys and components with Optuna",
        description="Run a study over a config's keys (a sweep: section or --space), each trial "
        "an ordinary run directory under the sweep's directory (needs rpnkit[sweep]).",
    )
    p.add_argument("config", nargs="?", metavar="CONFIG", help="YAML config, with a sweep: section")
    p.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="KEY=VALUES",
        help="a searched key: KEY=[a,b,c], KEY=int(LOW,HIGH), KEY=uniform(LOW,HIGH) or "
        "KEY=loguniform(LOW,HIGH) (repeatable; adds to the file's sweep.space)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value in every trial (repeatable)",
    )
    p.add_argument("--objective", help="history column to optimise (default: val_loss)")
    p.add_argument("--direction", choices=("minimize", "maximize"), help="default: from the column")
    p.add_argument(
        "--allow-test-objective",
        action="store_true",
        help="allow optimising a test_ column (the test split then no longer measures the result)",
    )
    p.add_argument("--sampler", choices=SAMPLERS, help="default: grid when every key is a list")
    p.add_argument(
        "--trials", type=int, metavar="N", help="trials of tpe/random (grid: all points)"
    )
    p.add_argument(
        "--pruner", choices=PRUNERS, help="default: median for tpe/random, none for grid"
    )
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="trials at once (default 1)")
    p.add_argument("--seed", type=int, help="the sampler's seed (default: the config's seed)")
    p.add_argument("--output", dest="output_dir", metavar="DIR", help="the sweep's directory")
    p.add_argument("--resume", metavar="DIR", help="finish the stopped sweep in DIR")
    p.add_argument(
        "--storage", metavar="URL", help="keep the study in an RDB (sqlite:///, postgresql://)"
    )
    p.add_argument("--join", metavar="URL", help="work on the study --study NAME kept at URL")
    p.add_argument("--study", metavar="NAME", help="the study's name in --storage/--join")
    p.add_argument(
        "--trust-code", action="store_true", help="passed to every trial (see rpnkit train)"
    )
    # builds nothing here (the checks run in the launcher); leaves at once when done
    p.set_defaults(func=cmd_sweep, leaves_at_once=True)


def _require_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError(
            "rpnkit sweep needs optuna; install it with: pip install 'rpnkit[sweep]'"
        ) from None


def cmd_sweep(args: argparse.Namespace) -> int:
    """Start, resume or join a sweep; print its table."""
    if args.jobs < 1:
        raise ConfigError(f"--jobs={args.jobs} is not valid; expected an integer >= 1")
    if args.trials is not None and args.trials < 1:
        raise ConfigError(f"--trials={args.trials} is not valid; expected an integer >= 1")
    modes = [m for m in ("config", "resume", "join") if getattr(args, m)]
    if len(modes) != 1:
        raise ConfigError(
            "give one of CONFIG (a new sweep), --resume DIR or --join URL --study NAME"
        )
    if args.join and not args.study:
        raise ConfigError("--join URL needs --study NAME (the study to work on)")
    from rpnkit.sweep.launcher import start_launcher

    args.launcher = start_launcher()  # imports torch while this process reads its input
    try:
        _require_optuna()
        import optuna

        from rpnkit.components.trust import trusted_code

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # the command's own process
        with trusted_code(args.trust_code):
            if args.resume:
                return _resume(args)
            if args.join:
                return _join(args)
            return _start(args)
    finally:
        args.launcher.close()


def _start(args: argparse.Namespace) -> int:
    from rpnkit.plugins.state import get_registry
    from rpnkit.run.config import apply_overrides
    from rpnkit.sweep.objective import choose_objective
    from rpnkit.sweep.plan import extra_assignments, plan, read_definition
    from rpnkit.sweep.space import check_space, parse_space

    raw, section = read_definition(args)
    effective = apply_overrides(raw, args.overrides)
    registry = get_registry()
    problems: list[str] = []
    dimensions, found = parse_space(section["space"])
    problems += found
    objective = None
    try:
        objective = choose_objective(
            effective,
            section.get("objective"),
            section.get("direction"),
            args.allow_test_objective,
            registry,
        )
    except ConfigError as exc:
        problems.append(str(exc))
    sampler, n_trials, pruner = plan(section, dimensions, problems)
    extra = extra_assignments(effective, objective)
    good, found = check_space(dimensions, effective, registry)  # keys and names: no build
    problems += found
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(1) as pool:
        base = Path(tmp) / "base.yaml"
        base.write_text(yaml.safe_dump(raw, sort_keys=False))
        overrides = [*args.overrides, *extra, "output.dir=null"]
        checks = (base, overrides, good, args.trust_code)  # about one build, all values
        checked = pool.submit(
            args.launcher.call, "rpnkit.sweep.calls:run_checks", checks, 1, warm=True
        )
        _import_report_modules(len(dimensions) > 1)  # while the launcher imports and checks
        problems += checked.result()
    directory = Path(section.get("dir") or Path("sweeps") / Path(args.config).stem)
    if not problems and directory.exists() and any(directory.iterdir()):
        problems.append(
            f"sweep directory {str(directory)!r} is not empty; finish it with --resume "
            f"{directory}, or choose another with --output"
        )
    if problems or objective is None:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(problems)} problem(s); no trial ran", file=sys.stderr)
        return 2
    import optuna

    from rpnkit.sweep.study import open_storage, shown_url, write_record

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "base.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    url = args.storage or str(directory / "study.journal")
    name = args.study or directory.resolve().name
    storage = open_storage(url)
    seed = args.seed if args.seed is not None else effective.get("seed", 0)
    definition = {
        "space": section["space"],
        "objective": objective.to_dict(),
        "sampler": sampler,
        "trials": n_trials,
        "pruner": pruner,
        "seed": seed if isinstance(seed, int) else None,
        "assignments": [*args.overrides, *extra],
        "base": yaml.safe_dump(raw, sort_keys=False),
        "config_threads": effective.get("threads"),
    }
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            direction="maximize" if objective.direction == "maximize" else "minimize",
            load_if_exists=False,
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise ConfigError(
            f"--study {name!r} already exists in {shown_url(url)!r}; join it with --join "
            f"{shown_url(url)} --study {name}, or choose another name"
        ) from None
    study.set_user_attr(_ATTR, definition)
    write_record(directory, url, name)
    say(
        f"sweep {name!r}: {n_trials} trial(s), {sampler} sampler, objective "
        f"{objective.name} ({objective.direction}), in {directory}"
    )
    return _work(args, url, name, directory, everything=False)


def _load(url: str, name: str, option: str = "--storage") -> tuple[optuna.Study, dict[str, Any]]:
    import optuna

    from rpnkit.sweep.study import open_storage, shown_url

    storage = open_storage(url, option)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise ConfigError(f"--study {name!r} is not in the storage {shown_url(url)!r}") from None
    definition = study.user_attrs.get(_ATTR)
    if not isinstance(definition, dict):
        raise ConfigError(f"study {name!r} in {url!r} was not made by rpnkit sweep")
    return study, definition


def _resume(args: argparse.Namespace) -> int:
    from rpnkit.sweep.study import read_record

    directory = Path(args.resume)
    record = read_record(directory)
    return _work(args, record["storage"], record["study"], directory, everything=True)


def _join(args: argparse.Namespace) -> int:
    directory = Path(args.output_dir or Path("sweeps") / args.study)
    _, definition = _load(args.join, args.study, "--join")  # refuses before anything is written
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "base.yaml").write_text(definition["base"])
    return _work(args, args.join, args.study, directory, everything=False)


def _work(args: argparse.Namespace, url: str, name: str, directory: Path, everything: bool) -> int:
    import optuna

    from rpnkit.sweep.objective import Objective
    from rpnkit.sweep.runner import SweepRun, thread_budget
    from rpnkit.sweep.space import parse_space
    from rpnkit.sweep.study import joined_seed, make_sampler, recover_stale, resumed_seed

    study, definition = _load(url, name)
    dimensions, _ = parse_space(definition["space"])
    seed = definition.get("seed")
    # a grid's trial ids are positions in its seeded shuffle of the points: every worker of a
    # grid keeps the study's seed (the grid itself hands out unvisited points); other samplers
    # get their own stream, so they do not repeat another worker's or the stopped sweep's draws
    if seed is not None and definition["sampler"] != "grid":
        if args.join:
            seed = joined_seed(seed)
        elif args.resume:
            seed = resumed_seed(seed, len(study.trials))
    n_trials = int(definition["trials"])
    study.sampler = make_sampler(definition["sampler"], dimensions, seed, n_trials)
    study.pruner = (
        optuna.pruners.MedianPruner(
            n_startup_trials=max(2, min(5, n_trials // 4)), n_warmup_steps=1
        )
        if definition["pruner"] == "median"
        else optuna.pruners.NopPruner()
    )
    recovered = recover_stale(study, everything)
    if recovered:
        print(
            f"trial(s) {', '.join(map(str, recovered))} were cut off; running them again",
            file=sys.stderr,
        )
    run = SweepRun(
        study=study,
        dimensions=dimensions,
        objective=Objective(**definition["objective"]),
        n_trials=n_trials,
        directory=directory,
        config=directory / "base.yaml",
        assignments=definition["assignments"],
        jobs=args.jobs,
        threads=thread_budget(args.jobs, definition.get("config_threads")),
        trust_code=args.trust_code,
        launcher=args.launcher,
    )

    # the report's imports, unless the checks' wait made them: while the launcher imports torch
    run.run(meanwhile=functools.partial(_import_report_modules, len(dimensions) > 1))
    _summary(study, run, directory)
    return 0


def _import_report_modules(importances: bool) -> None:
    """Import what :func:`_summary` needs that takes long: matplotlib and, with
    ``importances``, scikit-learn's forests (Optuna's importances fit one; only a sweep of
    several keys computes them).

    Called while the launcher imports torch (and runs the checks), when this process would
    otherwise wait on a core the launcher leaves free: not at the sweep's end. On a single
    core it imports nothing; the report imports them then.
    """
    from rpnkit.sweep.runner import usable_cores

    if usable_cores() < 2:
        return
    if importances:
        with contextlib.suppress(ImportError):
            import sklearn.ensemble  # noqa: F401
    with contextlib.suppress(ImportError):
        import matplotlib

        matplotlib.use("Agg")  # what plot_sweep draws with
        import matplotlib.pyplot


def _summary(study: optuna.Study, run: Any, directory: Path) -> None:
    """Write ``sweep.csv`` and ``sweep.png``; print the trials' table, importances and the best.

    The table is made by a child of the launcher while this process draws the plot.
    """
    from rpnkit.cli.compare import format_table, table_layout
    from rpnkit.sweep.processes import SubprocessLauncher
    from rpnkit.sweep.report import importances, plot_sweep, trials_of, write_csv

    dirs = [str(t.user_attrs["dir"]) for t in trials_of(study) if "dir" in t.user_attrs]
    reverse = run.objective.direction == "maximize"
    table: list[Any] = []
    launcher = run.launcher or SubprocessLauncher()

    def make_table() -> None:
        try:
            table.append(launcher.call("rpnkit.sweep.calls:summary_table", (dirs, reverse), 1))
        except BaseException as exc:  # raised again below, in this thread
            table.append(exc)

    maker = threading.Thread(target=make_table, name="rpnkit-sweep-table", daemon=True)
    maker.start()
    keys = [d.key for d in run.dimensions]
    write_csv(study, keys, directory / "sweep.csv")
    importance = importances(study)
    undrawn = plot_sweep(study, run.objective, importance, keys, directory / "sweep.png")
    maker.join()
    if isinstance(table[0], BaseException):
        raise table[0]
    columns, rows = table[0]
    if rows:
        sys.stdout.write(format_table(columns, rows, **table_layout("objective")))
    for key, share in sorted(importance.items(), key=lambda kv: -kv[1]):
        print(f"importance {share:.3f}  {key}")
    try:
        best = study.best_trial
    except ValueError:
        print("no trial completed", file=sys.stderr)
    else:
        print(
            f"best: trial {best.number} {run.objective.name}={best.value:.4g} "
            f"in {best.user_attrs.get('dir')}",
            file=sys.stderr,
        )
    if undrawn is not None:
        print(f"no sweep.png: {undrawn}", file=sys.stderr)
    made = "sweep.csv, sweep.png" if undrawn is None else "sweep.csv"
    print(f"wrote {made} in {directory}", file=sys.stderr)
