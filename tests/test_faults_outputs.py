"""Every output path is checked before the work starts, and a killed run says how to resume.

Each case runs a real ``rpnkit`` process and asserts exit 2, exactly one ``error:`` line
naming the path, no traceback and nothing written.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpnkit.cli import main

CONFIG = (
    "seed: 0\ndata: {name: iris, parameters: {batch_size: 16}}\n"
    "model: {name: rpn, parameters: {layers: [{m: 4, n: 3}]}}\nlearner: {n_epochs: 1}\n"
)
ENV = {**os.environ, "COLUMNS": "200"}


def _rpnkit(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rpnkit", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=ENV,
    )


def _one_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    errors = [e for e in (result.stdout + result.stderr).splitlines() if e.startswith("error")]
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert len(errors) == 1 and all(w in errors[0] for w in words), errors
    assert "Traceback" not in result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("trained")
    (folder / "c.yaml").write_text(CONFIG)
    assert main(["train", str(folder / "c.yaml"), "--output", str(folder / "run"), "--quiet"]) == 0
    return folder / "run"


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder nothing can be written to: chmod for a user, a read-only tmpfs for root."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if shutil.which("mount") is None:
        pytest.skip("root ignores permissions and mount is missing")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_export_into_a_read_only_folder_is_refused_before_exporting(
    tmp_path: Path, run_dir: Path, read_only: Path
) -> None:
    before = sorted(p.name for p in run_dir.iterdir())
    result = _rpnkit(
        "export",
        str(run_dir),
        "--format",
        "torchscript",
        "-o",
        str(read_only / "m.pt"),
        cwd=tmp_path,
    )
    _one_line(result, "-o", str(read_only / "m.pt"), "does not allow writing")
    assert "wrote" not in result.stdout and sorted(p.name for p in run_dir.iterdir()) == before


@pytest.mark.parametrize(
    ("name", "words"), [("lr.png", ("does not allow writing",)), ("lr.json", (".json", "png"))]
)
def test_lr_find_output_is_refused_before_the_range_test(
    tmp_path: Path, read_only: Path, name: str, words: tuple[str, ...]
) -> None:
    pytest.importorskip("matplotlib")
    (tmp_path / "c.yaml").write_text(CONFIG)
    result = _rpnkit("lr-find", "c.yaml", "-o", str(read_only / name), cwd=tmp_path)
    _one_line(result, "-o", *words)
    assert "lr-find:" not in result.stdout  # the range test did not run


def test_predict_into_a_file_s_folder_is_refused_before_predicting(
    tmp_path: Path, run_dir: Path
) -> None:
    (tmp_path / "rows.csv").write_text("f0,f1,f2,f3\n1,2,3,4\n")
    (tmp_path / "blocker").write_text("x")
    result = _rpnkit("predict", str(run_dir), "rows.csv", "-o", "blocker/out.csv", cwd=tmp_path)
    _one_line(result, "'blocker/out.csv'", "is a file")
    assert (tmp_path / "blocker").read_text() == "x"


def test_predict_through_a_symlink_writes_its_target_and_keeps_the_link(
    tmp_path: Path, run_dir: Path
) -> None:
    import json

    names = json.loads((run_dir / "preprocessing.json").read_text()).get("feature_names")
    header = ",".join(names) if names else "f0,f1,f2,f3"
    (tmp_path / "rows.csv").write_text(f"{header}\n5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n")
    real = tmp_path / "real.csv"
    real.write_text("old")
    (tmp_path / "link.csv").symlink_to(real)
    result = _rpnkit("predict", str(run_dir), "rows.csv", "-o", "link.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "link.csv").is_symlink() and os.readlink(tmp_path / "link.csv") == str(real)
    assert len(real.read_text().splitlines()) == 3  # header and two rows


def test_train_into_a_dangling_symlink_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CONFIG)
    (tmp_path / "out").symlink_to(tmp_path / "nowhere" / "run")
    result = _rpnkit("train", "c.yaml", "--output", "out", "--quiet", cwd=tmp_path)
    _one_line(result, "output.dir 'out'", "symbolic link", "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "out"]


@pytest.mark.parametrize(
    ("logger", "words"),
    [
        ("{name: csv, parameters: {filename: '..'}}", ("filename='..'", "file name")),
        ("{name: tensorboard, parameters: {directory: BLOCKER}}", ("directory=", "is a file")),
    ],
)
def test_a_logger_path_given_on_the_command_line_is_checked_before_training(
    tmp_path: Path, logger: str, words: tuple[str, ...]
) -> None:
    if "tensorboard" in logger:
        pytest.importorskip("tensorboard")
    (tmp_path / "c.yaml").write_text(CONFIG)
    (tmp_path / "blocker").write_text("x")
    logger = logger.replace("BLOCKER", str(tmp_path / "blocker"))
    result = _rpnkit(
        "train", "c.yaml", "--output", "run", "--quiet", "--set", f"output.loggers=[{logger}]",
        cwd=tmp_path,
    )  # fmt: skip
    _one_line(result, "output.loggers", *words)
    assert not (tmp_path / "run").exists()


@pytest.mark.e2e
@pytest.mark.parametrize("checkpoints", [True, False])
def test_a_run_killed_before_its_outputs_says_to_resume_it(
    tmp_path: Path, checkpoints: bool
) -> None:
    (tmp_path / "c.yaml").write_text(
        CONFIG.replace("n_epochs: 1", "n_epochs: 100000").replace("iris", "digits")
        .replace("m: 4, n: 3", "m: 64, n: 10")
        + f"output: {{checkpoints: {str(checkpoints).lower()}}}\n"
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "rpnkit", "train", "c.yaml", "--output", "run", "--quiet"],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run = tmp_path / "run"
    deadline = time.monotonic() + 120
    wanted = run / "checkpoints" / "last.pt" if checkpoints else run / "config.yaml"
    while not wanted.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    # while it trains, the run is in use, not killed
    _one_line(_rpnkit("evaluate", "run", cwd=tmp_path), "still training", str(process.pid))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert not (run / "model.pt").exists()
    resume = "resume it with `rpnkit train --resume run`" if checkpoints else "--overwrite"
    for command in (
        ("predict", "run", "c.yaml", "-o", "p.csv"),
        ("evaluate", "run"),
        ("export", "run", "--format", "torchscript"),
        ("train", "c.yaml", "--output", "run", "--quiet"),
    ):
        line = _one_line(_rpnkit(*command, cwd=tmp_path), "'run'", "killed", resume)
        assert "not the output of rpnkit train" not in line
    assert not (tmp_path / "p.csv").exists()


def test_export_through_a_symlink_writes_its_target_and_keeps_the_link(
    tmp_path: Path, run_dir: Path
) -> None:
    real = tmp_path / "real.pt"
    real.write_text("old")
    (tmp_path / "link.pt").symlink_to(real)
    result = _rpnkit(
        "export", str(run_dir), "--format", "torchscript", "-o", "link.pt", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "link.pt").is_symlink() and real.stat().st_size > 100
