"""``rpnkit train --nproc-per-node N``: the launcher, and each process it launches.

The launcher checks the config once, then becomes a ``torchrun`` (:mod:`torch.distributed.run`)
launching ``python -m rpnkit train CONFIG ...`` on ``N`` processes of this machine, which train
data-parallel; the processes meet on the loopback interface through a free port chosen by the
rendezvous.

The launcher is the launch's one voice for how it ended: torchrun's own log lines are off, a
SIGTERM or Ctrl-C makes every process stop at the same step
(:mod:`rpnkit.learner.collective_stop`; rank 0 keeps what was learned and hands its one line to
the launcher, which prints it), and a process that dies ends the job in one line naming its
rank and signal (the others, whose next collective fails, exit quietly).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rpnkit.errors import ConfigError

if TYPE_CHECKING:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    from rpnkit.run.config import RunConfig

__all__ = ["LAUNCH_REPORT", "launch", "launched"]

#: The environment variable naming the file where rank 0 of a launch by ``rpnkit train
#: --nproc-per-node`` leaves its one line (an interruption, what it kept) for the launcher.
LAUNCH_REPORT = "RPNKIT_LAUNCH_REPORT"
#: The launcher's exit code when a process of the launch died or lost the others.
_EXIT_FAILED = 2
#: The loggers of torchrun (its banner, "Sending process … closing signal", "failed (exitcode")
#: switched off while ``rpnkit train`` launches: the launcher says how the launch ended.
_TORCHRUN_LOGGERS = (
    "torch.distributed.elastic",
    "torch.distributed.run",
    "torch.distributed.launcher",
)


def _worker_arguments(args: argparse.Namespace) -> list[str]:
    """The ``rpnkit`` arguments every launched process runs: these, without the launch."""
    arguments = ["train", *([args.config] if args.config is not None else [])]
    for assignment in args.overrides:
        arguments += ["--set", assignment]
    if args.device is not None:
        arguments += ["--device", args.device]
    if args.output_dir is not None:
        arguments += ["--output", args.output_dir]
    if args.threads is not None:
        arguments += ["--threads", str(args.threads)]
    if args.quiet:
        arguments.append("--quiet")
    if args.overwrite:
        arguments.append("--overwrite")
    if args.resume is not None:
        arguments += ["--resume", args.resume]
    if args.trust_code:
        arguments.append("--trust-code")
    if args.strict:
        arguments.append("--strict")
    return arguments


def launch(args: argparse.Namespace, load: Callable[[argparse.Namespace], RunConfig]) -> int:
    """Check the config, then run the training on ``--nproc-per-node`` processes via torchrun.

    Parameters
    ----------
    args
        The parsed ``rpnkit train`` arguments.
    load
        Loads the config from them (as ``rpnkit train`` does).

    Returns
    -------
    int
        0 when every process succeeded, else the exit code of the first one that failed.

    Raises
    ------
    ConfigError
        For ``--nproc-per-node`` below 1, a launch from inside a launch, a config with
        ``strategy: single`` on several processes, a batch size that does not split over the
        processes, or any problem of the config or its output directory.
    """
    processes = args.nproc_per_node
    if processes < 1:
        raise ConfigError(f"--nproc-per-node={processes} is not valid; expected an integer >= 1")
    if "RANK" in os.environ:
        raise ConfigError(
            f"--nproc-per-node launches processes, but this one is already rank "
            f"{os.environ['RANK']} of a torch.distributed launch; leave --nproc-per-node out"
        )
    config = load(args)
    if config.strategy == "single" and processes > 1:
        raise ConfigError(
            f"--nproc-per-node={processes} launches {processes} processes but the config sets "
            "strategy: single; set strategy auto or ddp, or leave --nproc-per-node out"
        )
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    from rpnkit.run.lock import run_lock
    from rpnkit.run.runner import check_run

    check_run(config, processes)
    launcher = [
        "--nnodes=1",
        f"--nproc-per-node={processes}",
        "--rdzv-backend=c10d",
        "--rdzv-endpoint=127.0.0.1:0",
        f"--rdzv-id=rpnkit-{uuid.uuid4().hex}",
        "--module",
        "rpnkit",
    ]
    out_dir = config.output.get("dir")
    with tempfile.TemporaryDirectory(prefix="rpnkit-launch-") as folder:
        report = Path(folder) / "rank0.txt"
        try:
            with (
                run_lock(out_dir),  # held by the launcher for its workers
                _environment(LAUNCH_REPORT, str(report)),
                _torchrun_logs_off(),
            ):
                run(parse_args([*launcher, *_worker_arguments(args)]))
        except SignalException as exc:  # SIGTERM / SIGINT to the launcher: forwarded to all
            print(_report(report) or _interrupted(exc.sigval.name, out_dir), file=sys.stderr)
            return 130
        except ChildFailedError as exc:
            line, code = _failure(exc, _report(report), out_dir)
            print(line, file=sys.stderr)
            return code
    return 0


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """``name=value`` in this process's environment (so in the launched processes') in the
    block; the previous value is back after."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@contextlib.contextmanager
def _torchrun_logs_off() -> Iterator[None]:
    """torchrun's loggers silent in the block (their levels are back after)."""
    names = [n for n in logging.root.manager.loggerDict if n.startswith(_TORCHRUN_LOGGERS)]
    loggers = [logging.getLogger(name) for name in names]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, previous, strict=True):
            logger.setLevel(level)


def _report(path: Path) -> str | None:
    """Rank 0's line, if it left one (it was interrupted and said what it kept)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def _resume_hint(out_dir: str | None) -> str:
    """Where the launch can be resumed from, if it kept a checkpoint."""
    from rpnkit.learner.checkpoint import CHECKPOINT_NAME
    from rpnkit.run.outputs import resume_command

    if out_dir is not None and (Path(out_dir) / "checkpoints" / CHECKPOINT_NAME).is_file():
        return f"resume with `{resume_command(out_dir)}`"
    return "no checkpoint was kept (output.checkpoints is off), so it cannot be resumed"


def _interrupted(signal_name: str, out_dir: str | None) -> str:
    """The launcher's line for a signal when rank 0 left none (it stopped before training)."""
    return f"error: interrupted ({signal_name}); {_resume_hint(out_dir)}"


def _failure(exc: ChildFailedError, report: str | None, out_dir: str | None) -> tuple[str, int]:
    """The one line and exit code of a launch in which a process failed.

    The process that failed first, among those that did not only lose a peer
    (:data:`~rpnkit.learner.launch.LOST_PEER_EXIT`); within one second, a process that torchrun
    may have stopped itself (SIGTERM) comes last.
    """
    from rpnkit.learner.collective_stop import LOST_PEER_EXIT

    failures = exc.failures
    primary = {r: f for r, f in failures.items() if f.exitcode != LOST_PEER_EXIT} or failures
    stopped = -int(signal.SIGTERM)  # how torchrun stops the others: a consequence
    rank = min(primary, key=lambda r: (primary[r].timestamp, primary[r].exitcode == stopped, r))
    failure = primary[rank]
    if failure.exitcode == 130 and report is not None:  # a stop every process agreed on
        return report, 130
    if failure.exitcode < 0:
        return (
            f"error: training process rank {rank} (pid {failure.pid}) was killed by "
            f"{failure.signal_name()} (exit code {failure.exitcode}); the other processes were "
            f"stopped; {_resume_hint(out_dir)}",
            _EXIT_FAILED,
        )
    if failure.exitcode == LOST_PEER_EXIT:
        return (
            f"error: training process rank {rank} lost its connection to the other processes "
            f"of the launch; {_resume_hint(out_dir)}",
            _EXIT_FAILED,
        )
    return (
        f"error: training process rank {rank} exited with code {failure.exitcode}; its "
        "messages are above",
        failure.exitcode,
    )


def launched(args: argparse.Namespace, train: Callable[[argparse.Namespace], int]) -> int:
    """Train as one process of a launch: die with the launcher, stop with the others.

    A SIGTERM or Ctrl-C stops every process at the same step
    (:func:`~rpnkit.learner.launch.stop_together`); rank 0 says what it kept (to the
    ``rpnkit`` launcher, through :data:`LAUNCH_REPORT`, else on stderr), the others exit 130
    quietly, all without tearing the process group down. A collective that failed because another process died ends this one quietly with
    :data:`~rpnkit.learner.launch.LOST_PEER_EXIT` (under torchrun run by hand: in one line).
    """
    from rpnkit.learner.collective_stop import LOST_PEER_EXIT, lost_peer, stop_together
    from rpnkit.learner.launch import die_with_parent

    die_with_parent()  # a launched worker ends with its launcher
    rank = os.environ.get("RANK", "0")
    report = os.environ.get(LAUNCH_REPORT)
    try:
        with stop_together():
            return train(args)
    except KeyboardInterrupt as exc:
        if rank == "0":
            line = f"error: {exc or 'interrupted'}"
            if report is None:
                print(line, file=sys.stderr)
            else:
                Path(report).write_text(line + "\n", encoding="utf-8")
        # What was learned is on disk; every rank is stopping at this same step. Leave without
        # tearing the process group down: a peer that left first makes gloo's teardown abort
        # ("terminate called without an active exception"), a second line on the screen.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    except Exception as exc:
        if not lost_peer(exc):
            raise
        if report is None:
            print(
                f"error: training process rank {rank} stopped: another process of the launch "
                "is gone (its collective failed)",
                file=sys.stderr,
            )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(LOST_PEER_EXIT)  # no teardown of a process group whose peer is gone
