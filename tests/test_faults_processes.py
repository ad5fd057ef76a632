"""Faults from outside, on real ``rpnkit`` processes: signals during checkpoint saves, a full
disk, two trainings into one directory, a symbolic link as an output, a killed DDP launcher,
a killed DDP rank and a SIGTERM to a DDP launcher."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rpnkit import build
from rpnkit.atomic import DiskFullError, atomic_open
from rpnkit.deferred_signals import signals_deferred
from rpnkit.learner.checkpoint import load_checkpoint
from rpnkit.learner.collective_stop import STOP, lost_peer, stop_together
from rpnkit.run.lock import lock_file, run_lock

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

# checkpoints after every step, so a signal lands inside a save often
STEPPED = """
seed: 0
data: {name: digits, parameters: {batch_size: 32}}
model: {name: rpn, parameters: {layers: [{m: 64, n: 10}]}}
learner: {n_epochs: 500, optimizer: {name: adam, parameters: {lr: 0.01}}}
output: {checkpoints: {every_n_steps: 1}}
"""
ENV = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


def _start(config: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rpnkit", "train", str(config), "--output", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        start_new_session=True,
    )


def _errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error")]


def test_a_signal_inside_a_deferred_block_acts_right_after_it() -> None:
    previous = signal.getsignal(signal.SIGINT)
    finished = False
    with pytest.raises(KeyboardInterrupt), signals_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        finished = True
    assert finished and signal.getsignal(signal.SIGINT) is previous


def test_a_signal_in_a_launched_process_asks_first_and_acts_on_the_second() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    with stop_together():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert STOP.listening and STOP.requested and not STOP.agreed
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
    assert signal.getsignal(signal.SIGTERM) is previous
    assert not (STOP.listening or STOP.requested)


def test_a_collective_that_lost_its_peer_is_told_from_a_bug() -> None:
    import torch.distributed as dist

    reset = RuntimeError("[gloo/transport/tcp/pair.cc:537] Read error: Connection reset by peer")
    assert lost_peer(reset) and lost_peer(dist.DistBackendError("NCCL error"))
    try:
        try:
            raise reset
        except RuntimeError as exc:
            raise ValueError("while saving") from exc
    except ValueError as chained:
        assert lost_peer(chained)
    assert not lost_peer(RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x3 and 2x2)"))
    assert not lost_peer(ValueError("connection reset by peer"))


@pytest.mark.e2e
@pytest.mark.parametrize("round_", range(6))
def test_a_signal_during_step_checkpoints_keeps_the_interrupt_outputs(
    tmp_path: Path, round_: int
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(STEPPED)
    out = tmp_path / "run"
    process = _start(config, out)
    assert process.stdout is not None
    rows = 0
    for line in process.stdout:  # one table row per epoch: wait for two complete epochs
        if line.split() and line.split()[0].isdigit():
            rows += 1
            if rows == 2:
                break
    time.sleep(0.011 * round_)  # a different moment of the save cycle each round
    process.send_signal(signal.SIGTERM if round_ % 2 else signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and len(_errors(stderr)) == 1, stderr
    assert json.loads((out / "history.json").read_text())["partial"] is True
    assert (out / "model.pt").is_file()
    state = load_checkpoint(out / "checkpoints")  # complete: schema and checksum hold
    # every step of the two epochs shown is kept: the epoch-end checkpoint (epoch 2), or the
    # step checkpoint after epoch 1's last batch when the signal beat the epoch-end save
    batches = len(build("dataset", "digits", batch_size=32)["train_loader"])
    position = state["position"]
    assert (position["epoch"], position["batches"] or batches) >= (1, batches), position
    assert not list(out.rglob("*.rpnkit-tmp"))


@pytest.mark.e2e
def test_a_second_train_into_the_same_directory_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(STEPPED.replace("output: {checkpoints: {every_n_steps: 1}}\n", ""))
    out = tmp_path / "run"
    first = _start(config, out, "--quiet")
    deadline = time.monotonic() + 120
    while not lock_file(out).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    second = subprocess.run(
        [sys.executable, "-m", "rpnkit", "train", str(config), "--output", str(out), "--quiet"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=120)
    assert second.returncode == 2, second.stderr
    errors = _errors(second.stderr)
    assert len(errors) == 1 and "in use by another rpnkit train" in errors[0], errors
    assert str(out) in errors[0] and "Traceback" not in second.stderr
    assert json.loads((out / "history.json").read_text())["partial"] is True


def test_a_lock_of_a_killed_process_does_not_block(tmp_path: Path) -> None:
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom rpnkit.run.lock import run_lock\n"
            f"with run_lock({str(out)!r}):\n    print('held', flush=True)\n    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    from rpnkit.errors import ConfigError

    with pytest.raises(ConfigError, match=f"process {holder.pid}"), run_lock(out):
        pass
    holder.kill()
    holder.wait(timeout=30)
    assert lock_file(out).exists()  # left by SIGKILL, but no longer held
    with run_lock(out):
        pass
    assert not lock_file(out).exists()


def test_an_atomic_write_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with atomic_open(link) as file:
        file.write(b"new")
    assert link.is_symlink() and real.read_text() == "new"


def _small_filesystem(tmp_path: Path) -> Path:
    """A 2 MiB tmpfs mounted under ``tmp_path``, or skip where it cannot be made."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("a small filesystem needs root and mount")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    return mount


def test_a_full_disk_is_one_line_naming_the_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    mount = _small_filesystem(tmp_path)
    try:
        target = mount / "last.pt"
        target.write_bytes(b"previous")
        with pytest.raises(DiskFullError) as caught, atomic_open(target) as file:
            torch.save({"w": torch.zeros(1_000_000)}, file)
        message = str(caught.value)
        assert "\n" not in message and str(target) in message and "bytes" in message
        assert "previous last.pt is kept" in message
        assert target.read_bytes() == b"previous"
        assert [p.name for p in mount.iterdir()] == ["last.pt"]
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.e2e
def test_a_full_disk_during_training_is_one_line(tmp_path: Path) -> None:
    mount = _small_filesystem(tmp_path)
    try:
        config = tmp_path / "c.yaml"
        config.write_text(
            "seed: 0\ndata: {name: digits}\n"
            "model: {name: mlp, parameters: {dims: [64, 2048, 10]}}\n"
            "learner: {n_epochs: 2}\noutput: {checkpoints: true}\n"
        )
        result = subprocess.run(
            [sys.executable, "-m", "rpnkit", "train", str(config), "--output", str(mount / "r")],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=300,
        )
        errors = _errors(result.stderr)
        assert result.returncode == 2 and len(errors) == 1, result.stderr
        assert "no space left" in errors[0] and "Traceback" not in result.stderr
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.e2e
def test_killing_a_ddp_launcher_leaves_no_worker_alive(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(STEPPED.replace("output: {checkpoints: {every_n_steps: 1}}\n", ""))
    out = tmp_path / "run"
    launcher = _start(config, out, "--quiet", "--nproc-per-node", "2")
    deadline = time.monotonic() + 180
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.5)
        found = subprocess.run(["pgrep", "-P", str(launcher.pid)], capture_output=True, text=True)
        workers = [int(p) for p in found.stdout.split()]
    assert len(workers) == 2, "the workers did not start"
    time.sleep(3)  # inside training
    os.killpg(launcher.pid, signal.SIGKILL)
    launcher.wait(timeout=30)
    time.sleep(5)
    alive = [pid for pid in workers if _alive(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _launched_workers(launcher: subprocess.Popen[str], out: Path) -> dict[int, int]:
    """The launcher's worker processes by rank, once both run and rank 0 wrote config.yaml."""
    deadline = time.monotonic() + 180
    workers: dict[int, int] = {}
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-P", str(launcher.pid)], capture_output=True, text=True)
        workers = {}
        for pid in (int(p) for p in found.stdout.split()):
            with contextlib.suppress(FileNotFoundError):
                environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                rank = next(v for v in environment if v.startswith(b"RANK="))
                workers[int(rank.split(b"=")[1])] = pid
        if len(workers) == 2 and (out / "config.yaml").is_file():
            return workers
        time.sleep(0.2)
    launcher.kill()
    raise AssertionError(f"the workers did not start: {workers}")


@pytest.mark.e2e
@pytest.mark.parametrize("victim", [1, 0])
def test_a_killed_ddp_rank_ends_the_job_in_one_line(tmp_path: Path, victim: int) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(STEPPED.replace("{every_n_steps: 1}", "true"))  # a checkpoint per epoch
    out = tmp_path / "run"
    launcher = _start(config, out, "--quiet", "--nproc-per-node", "2")
    workers = _launched_workers(launcher, out)
    deadline = time.monotonic() + 120
    while not (out / "checkpoints" / "last.pt").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # inside an epoch
    os.kill(workers[victim], signal.SIGKILL)
    _, stderr = launcher.communicate(timeout=120)
    lines = stderr.strip().splitlines()
    assert launcher.returncode == 2, stderr
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith(f"error: training process rank {victim} (pid {workers[victim]})")
    assert "killed by SIGKILL" in lines[0] and "resume with `rpnkit train --resume" in lines[0]
    time.sleep(5)
    alive = [pid for pid in workers.values() if _alive(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive


@pytest.mark.e2e
def test_sigterm_to_a_ddp_launcher_keeps_the_last_complete_epoch_in_one_line(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(STEPPED.replace("output: {checkpoints: {every_n_steps: 1}}\n", ""))
    out = tmp_path / "run"
    launcher = _start(config, out, "--quiet", "--nproc-per-node", "2")
    workers = _launched_workers(launcher, out)
    time.sleep(6)  # a few epochs in
    launcher.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    _, stderr = launcher.communicate(timeout=120)
    # the ranks stop together: none is left for torch to kill after its 30 s grace
    assert time.monotonic() - sent < 25, stderr
    assert launcher.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("error: training interrupted after"), stderr
    assert f"resume with `rpnkit train --resume {out}`" in lines[0]
    summary = json.loads((out / "history.json").read_text())
    assert summary["partial"] is True and summary["history"]
    assert (out / "model.pt").is_file()
    state = load_checkpoint(out / "checkpoints")
    assert state["position"]["epoch"] == len(summary["history"])
    time.sleep(5)
    assert not [pid for pid in workers.values() if _alive(pid)]
