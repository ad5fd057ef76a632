"""The sweep machinery's own cost per trial, and ``--jobs 2`` against ``--jobs 1``.

Run by hand: ``python benchmarks/sweep.py [--epochs 15] [--expansions 4]
[--reconciliations 3] [--repeats 3]``. One digits trial is configs/digits.yaml's model (its
first layer's expansion and reconciliation set by the grid, 15 epochs, one thread); the sweep
is the grid of the first ``--expansions`` of taylor, chebyshev, bspline, gaussian_rbf,
identity, fourier by the first ``--reconciliations`` of identity, low_rank, lphm: by default
the 12 points of the shipped study ``configs/sweep_digits_rpn.yaml``, whose size a user's first
sweep has (a sweep of 4 points was measured before: there the fixed cost of a sweep, about
2.5 s, weighs as much as the trials themselves). Each repeat measures, in a rotating order (so
a change in the machine's load falls on all four alike):

1. ``train``: each grid point trained alone by ``python -m rpnkit train`` (what a trial is);
2. ``sweep --jobs 1``: the whole ``rpnkit sweep`` command over the same points;
3. ``sweep --jobs 2``: the same with two trials at once;
4. ``pairs``: the points trained by ``python -m rpnkit train`` two processes at a time, the
   machine's own speed-up from a second process (what ``--jobs 2`` can at best gain here).

The figures are the medians over the repeats; the load average is printed before and after.

The machinery's overhead per trial is ``(sweep --jobs 1 - sum of train) / points`` (the checks
before the first trial, asking and telling Optuna, watching the history, the report), printed
as a share of a mean trial, then split into the part outside the trials (from the start of
``sweep --jobs 1`` to its first trial, and after its last: the interpreter, torch and Optuna
imports, the one build of the checks, the report), read from the study's trial timestamps, and
the rest per trial; targets (issue 25): under 5 %, and ``--jobs 2`` at most 0.6x
``--jobs 1`` on 2 cores.

A trial alone is a whole ``python -m rpnkit train`` process: its interpreter, its imports (torch
and rpnkit's training modules), its training and its exit (torch's teardown). A sweep's trial
is forked from the sweep's warm launcher (:mod:`rpnkit.sweep.launcher`), which imported all of
that once, and leaves without the teardown; so the per-trial part can be negative: the sweep
trains its points faster than the same points trained one ``rpnkit train`` after another. The
overhead is still measured against those processes, since that is what a user would run
instead of the sweep. Run it from another checkout's directory (``cd OTHER && python
/path/to/benchmarks/sweep.py``) to time that code: ``python -m rpnkit`` imports the rpnkit of
the directory it runs in (``PYTHONPATH`` does not override that).

``--jobs 2 / --jobs 1`` is ``(F2 + S2) / (F1 + S1)``: ``F`` the time outside the trials and
``S`` the trials' own span (both printed). ``S2 / S1`` is the machine's (it matches ``pairs``);
``F`` has a floor no sweep goes under: the first trial cannot train before torch is imported in
some process, so ``import torch`` (an interpreter importing it, timed here too) stands in for a
sweep that costs nothing else, and the ratio such a sweep would reach is printed as the bound.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXPANSIONS = ["taylor", "chebyshev", "bspline", "gaussian_rbf", "identity", "fourier"]
RECONCILIATIONS = ["identity", "low_rank", "lphm"]
EXPANSION = "model.parameters.layers.0.expansion"
RECONCILIATION = "model.parameters.layers.0.reconciliation"


def _environment(cache: Path) -> dict[str, str]:
    """The environment of every timed command: this one's, with bytecode caches on (in
    ``cache``), as an installed rpnkit has them (``pip install`` compiles them); a machine that
    sets ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every rpnkit module each process
    imports, in every measure."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(cache)}


def _run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def _sweep(
    cmd: list[str], env: dict[str, str], out: Path, fixed: list[float], spans: list[float]
) -> float:
    """Run a sweep; append to ``fixed`` its time outside the trials (before the first trial
    was asked for, after the last was told) and to ``spans`` the rest, from the study's own
    trial timestamps."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    start = datetime.datetime.now()
    wall = _run(cmd, env)
    end = start + datetime.timedelta(seconds=wall)
    storage = JournalStorage(JournalFileBackend(str(out / "study.journal")))
    trials = optuna.load_study(study_name=out.name, storage=storage).trials
    first = min(t.datetime_start for t in trials if t.datetime_start)
    last = max(t.datetime_complete for t in trials if t.datetime_complete)
    fixed.append((first - start).total_seconds() + (end - last).total_seconds())
    spans.append((last - first).total_seconds())
    return wall


def main() -> None:
    """Measure and print the three timings (medians of interleaved repeats) and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--expansions", type=int, default=4)
    parser.add_argument("--reconciliations", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    expansions = EXPANSIONS[: args.expansions]
    reconciliations = RECONCILIATIONS[: args.reconciliations]
    points = [(e, r) for e in expansions for r in reconciliations]
    raw = yaml.safe_load((ROOT / "configs" / "digits.yaml").read_text())
    raw["learner"]["n_epochs"] = args.epochs
    raw["learner"]["lr_scheduler"]["parameters"]["T_max"] = args.epochs
    raw["output"] = {"dir": None, "save_model": True, "checkpoints": False}
    rpnkit = [sys.executable, "-m", "rpnkit"]
    load_before = os.getloadavg()
    timings: dict[str, list[float]] = {"train": [], "jobs1": [], "jobs2": [], "pairs": []}
    with tempfile.TemporaryDirectory() as tmp:
        env = _environment(Path(tmp) / "pycache")
        one_thread = {**env, "OMP_NUM_THREADS": "1"}  # a trial of two on 2 cores
        base = Path(tmp) / "digits.yaml"
        base.write_text(yaml.safe_dump(raw))
        sweep = [*rpnkit, "sweep", str(base), "--objective", "train_loss"]
        sweep += ["--space", f"{EXPANSION}=[{', '.join(expansions)}]"]
        sweep += ["--space", f"{RECONCILIATION}=[{', '.join(reconciliations)}]"]

        def command(out: Path, i: int) -> list[str]:
            cmd = [*rpnkit, "train", str(base), "--quiet", "--output", str(out / str(i))]
            expansion, reconciliation = points[i]
            cmd += [
                "--set",
                f"{EXPANSION}={expansion}",
                "--set",
                f"{RECONCILIATION}={reconciliation}",
            ]
            return [*cmd, "--threads", "1"]

        def train(out: Path) -> float:
            return sum(_run(command(out, i), env) for i in range(len(points)))

        def pairs(out: Path) -> float:
            start = time.perf_counter()
            for first in range(0, len(points), 2):
                running = [
                    subprocess.Popen(command(out, i), stdout=subprocess.DEVNULL, env=one_thread)
                    for i in range(first, min(first + 2, len(points)))
                ]
                if any(p.wait() for p in running):
                    raise RuntimeError("a train process failed")
            return time.perf_counter() - start

        fixed: dict[int, list[float]] = {1: [], 2: []}
        spans: dict[int, list[float]] = {1: [], 2: []}

        def sweep_jobs(jobs: int) -> Callable[[Path], float]:
            def measure(out: Path) -> float:
                cmd = [*sweep, "--jobs", str(jobs), "--output", str(out)]
                return _sweep(cmd, env, out, fixed[jobs], spans[jobs])

            return measure

        measures = {"train": train, "jobs1": sweep_jobs(1), "jobs2": sweep_jobs(2), "pairs": pairs}
        _run(command(Path(tmp) / "warm-up", 0), env)  # writes the caches: no measure compiles
        _run([*sweep, "--jobs", "2", "--output", str(Path(tmp) / "warm-up-sweep")], env)
        torch_import = statistics.median(
            _run([sys.executable, "-c", "import torch"], env) for _ in range(3)
        )
        order = list(measures)
        for repeat in range(args.repeats):
            for name in order[repeat % 4 :] + order[: repeat % 4]:
                timings[name].append(measures[name](Path(tmp) / f"{name}-{repeat}"))
    load_after = os.getloadavg()
    total, one, two, pair = (statistics.median(timings[k]) for k in timings)
    mean = total / len(points)
    overhead = (one - total) / len(points)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"{len(points)} digits trials of {args.epochs} epochs on {cores} cores, medians of "
        f"{args.repeats} interleaved repeats; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after"
    )
    for key, label in (
        ("train", "train alone:"),
        ("jobs1", "sweep --jobs 1:"),
        ("jobs2", "sweep --jobs 2:"),
        ("pairs", "train, 2 at once:"),
    ):
        runs = ", ".join(f"{t:.2f}" for t in timings[key])
        print(f"{label:17} {statistics.median(timings[key]):7.2f} s  ({runs})")
    print(f"a trial alone:  {mean:7.2f} s")
    verdict = "ok" if overhead / mean < 0.05 else "over the 5 % target"
    print(f"overhead per trial: {overhead:+.3f} s = {overhead / mean:+.1%} of a trial ({verdict})")
    outside = statistics.median(fixed[1])
    inside = (one - outside - total) / len(points)
    print(
        f"  of which outside the trials (startup, checks, report): {outside:.2f} s per sweep "
        f"({outside / len(points):.3f} s per trial); per trial inside: {inside:+.3f} s "
        f"({inside / mean:+.1%})"
    )
    verdict = "ok" if two / one <= 0.6 else "over the 0.6x target"
    print(f"--jobs 2 / --jobs 1: {two / one:.2f}x ({verdict})")
    f1, f2 = statistics.median(fixed[1]), statistics.median(fixed[2])
    s1, s2 = statistics.median(spans[1]), statistics.median(spans[2])
    print(
        f"  outside the trials {f1:.2f} s (--jobs 1), {f2:.2f} s (--jobs 2); the trials "
        f"themselves {s1:.2f} s and {s2:.2f} s: {s2 / s1:.2f}x"
    )
    bound = (torch_import + s2) / (torch_import + s1)
    print(
        f"  bound: a sweep whose only cost outside the trials is importing torch "
        f"({torch_import:.2f} s) would reach {bound:.2f}x"
    )
    print(f"  this machine, two train processes at once / one after another: {pair / total:.2f}x")


if __name__ == "__main__":
    main()
