"""Opening a config runs no code of its choosing: whether a dotted path's module may be imported
is decided from the path alone, before any import, and a module's own exit is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rpnkit import build, trusted_code
from rpnkit.components.trust import import_refusal
from rpnkit.errors import ComponentNotFoundError, ConfigError

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

BASE = "data: {name: iris}\nmodel: {name: rpn, parameters: {layers: [{m: 4, n: 3}]}}\n"


def _hostile_dir(tmp_path: Path) -> tuple[Path, Path]:
    """A directory holding a downloaded config's companions, each writing ``marker``."""
    marker = tmp_path / "MARKER"
    work = tmp_path / "work"
    work.mkdir()
    body = f"open({str(marker)!r}, 'w').write('ran')\nimport torch\n"
    (work / "helpers.py").write_text(body + "class FocalLoss(torch.nn.Module):\n    pass\n")
    (work / "bye.py").write_text(body + "raise SystemExit(0)\n")
    browser = work / "browser.sh"
    browser.write_text(f"#!/bin/sh\ntouch {marker}\n")
    browser.chmod(0o755)
    return work, marker


def _rpnkit_in(work: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BROWSER": str(work / "browser.sh"), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "rpnkit", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=work,
        env=env,
    )


CASES = [
    ("helpers.FocalLoss", ("learner.loss", "'helpers'", "--trust-code")),
    ("venv.__main__.EnvBuilder", ("learner.loss", "__main__", "runs a program")),
    ("antigravity.X", ("learner.loss", "'antigravity'", "--trust-code")),
    ("this.X", ("learner.loss", "'this'", "--trust-code")),
    ("bye.X", ("learner.loss", "'bye'", "--trust-code")),
    ("no_such_module_anywhere.X", ("learner.loss", "no module named 'no_such_module_anywhere'")),
]


@pytest.mark.parametrize(("loss", "words"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["validate", "train"])
def test_a_config_beside_a_hostile_module_runs_none_of_its_code(
    tmp_path: Path, loss: str, words: tuple[str, ...], command: str
) -> None:
    work, marker = _hostile_dir(tmp_path)
    (work / "c.yaml").write_text(BASE + f"learner: {{loss: {loss}}}\n")
    extra = ["--output", "run", "--quiet"] if command == "train" else []
    result = _rpnkit_in(work, command, "c.yaml", *extra)
    text = result.stdout + result.stderr
    assert result.returncode == 2, text
    errors = [line for line in text.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and all(w in errors[0] for w in words), errors
    assert "Traceback" not in text and "Zen of Python" not in text
    assert not marker.exists()
    assert not (work / "run").exists() and not (work / "venv").exists()


def test_a_tinybig_class_key_is_held_to_the_same_rule(tmp_path: Path) -> None:
    work, marker = _hostile_dir(tmp_path)
    source = Path(__file__).parent / "configs" / "tinybig" / "breast_cancer_combinatorial.yaml"
    text = source.read_text().replace("loss_class: torch.nn.MSELoss", "loss_class: helpers.Focal")
    (work / "t.yaml").write_text(text)
    result = _rpnkit_in(work, "validate", "t.yaml")
    assert result.returncode == 2 and "'helpers'" in result.stdout, result.stdout
    assert "Traceback" not in result.stderr and not marker.exists()


def test_a_module_that_exits_is_one_line_even_when_trusted(tmp_path: Path) -> None:
    work, marker = _hostile_dir(tmp_path)
    (work / "c.yaml").write_text(BASE + "learner: {loss: bye.X}\n")
    result = _rpnkit_in(work, "validate", "c.yaml", "--trust-code")
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "'bye.X'" in errors[0] and "SystemExit" in errors[0]
    assert "Traceback" not in result.stderr
    assert marker.exists()  # trusted: it ran, as asked, and its exit did not end rpnkit


def test_trusted_code_still_imports_the_working_directorys_module(tmp_path: Path) -> None:
    work, marker = _hostile_dir(tmp_path)
    (work / "c.yaml").write_text(BASE + "learner: {loss: helpers.FocalLoss}\n")
    result = _rpnkit_in(work, "validate", "c.yaml", "--trust-code")
    assert "helpers.FocalLoss" in result.stdout and marker.exists(), result.stdout


def test_the_refusal_is_decided_without_importing() -> None:
    assert "antigravity" not in sys.modules
    assert import_refusal("antigravity", {"torch"}) is not None
    assert "antigravity" not in sys.modules
    assert import_refusal("venv.__main__", {"venv"}) is not None
    assert "venv.__main__" not in sys.modules
    assert import_refusal("torch.nn", {"torch"}) is None
    assert "is not importable" in (import_refusal("surely_absent_pkg", set()) or "")


def test_a_typo_hint_comes_only_from_an_imported_module() -> None:
    with pytest.raises(ComponentNotFoundError, match=r"'torch\.optim\.AdamW'"):
        build("optimizer", "torch.optim.AdamWW", params=[])
    with pytest.raises(ConfigError, match="'wsgiref'"):
        build("loss", "wsgiref.simple_server.Nope")
    assert "wsgiref.simple_server" not in sys.modules
    with trusted_code(), pytest.raises(ConfigError, match="__main__"):
        build("loss", "venv.__main__.Nope")
    assert "venv.__main__" not in sys.modules


def test_a_dataset_class_path_is_held_to_the_same_rule() -> None:
    with pytest.raises(ConfigError, match="'antigravity'"):
        build("dataset", "torch_dataset", dataset="antigravity.Data")
    assert "antigravity" not in sys.modules


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ("learner: {callbacks: [os.system]}\n", ("learner.callbacks", "os.system")),
        ("threads: 1000000\n", ("threads=1000000", "valid: 1 to")),
        ("learner: {checkpoint_dir: ../escaped}\n", ("learner.checkpoint_dir", "../escaped")),
        (
            "output: {loggers: [{name: csv, parameters: {directory: /tmp/elsewhere}}]}\n",
            ("output.loggers[0].parameters.directory", "/tmp/elsewhere"),
        ),
        (
            "output: {loggers: [{name: csv, parameters: {filename: '..'}}]}\n",
            ("output.loggers[0].parameters.filename", "'..'"),
        ),
        ("learner: {n_epochs: 1}\nlearner: {n_epochs: 2}\n", ("'learner'", "twice", "line")),
    ],
)
def test_config_fields_that_would_run_or_write_elsewhere_are_refused(
    tmp_path: Path, section: str, words: tuple[str, ...]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(BASE + section)
    for command in ("validate", "train"):
        extra = ["--output", str(tmp_path / "run"), "--quiet"] if command == "train" else []
        result = subprocess.run(
            [sys.executable, "-m", "rpnkit", command, str(config), *extra],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        text = result.stdout + result.stderr
        assert result.returncode == 2, text
        errors = [line for line in text.splitlines() if line.startswith("error")]
        assert len(errors) == 1 and all(w in errors[0] for w in words), errors
        assert "Traceback" not in text
        assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_a_relative_logger_directory_lands_inside_the_run(tmp_path: Path) -> None:
    from rpnkit.tracking.csv_logger import CSVLogger
    from rpnkit.tracking.resolve import resolve_loggers

    (logger,) = resolve_loggers(
        [{"name": "csv", "parameters": {"directory": "logs"}}], directory=tmp_path / "run"
    )
    assert isinstance(logger, CSVLogger)
    assert Path(logger.directory) == tmp_path / "run" / "logs"
