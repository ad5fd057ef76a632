"""Experiment loggers: the ``logger`` group, ``loggers=``, ``output.loggers`` and the builtins."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from rpnkit import BackwardLearner, build, hookimpl
from rpnkit.errors import ComponentNotFoundError, ConfigError
from rpnkit.learner.hooks import PluginHookError
from rpnkit.plugins.state import get_registry
from rpnkit.tracking import Logger, epoch_scalars
from tests.conftest import run_rpnkit

ROOT = Path(__file__).resolve().parents[1]
RUN = {
    "seed": 0,
    "data": {"name": "iris", "parameters": {"batch_size": 32}},
    "model": {"name": "rpn", "parameters": {"layers": [{"m": 4, "n": 3}]}},
    "learner": {"n_epochs": 2},
    "metric": ["accuracy", "f1"],
}


def _events(folder: Path) -> Any:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = list(folder.glob("events.out.tfevents.*"))
    assert len(files) == 1 and files[0].stat().st_size > 0, files
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


def _train(loggers: list[Any], epochs: int = 2, **options: Any) -> list[dict[str, Any]]:
    torch.manual_seed(0)
    data = build("dataset", "iris", batch_size=32)
    model = build("model", "rpn", layers=[{"m": 4, "n": 3}])
    learner = BackwardLearner(n_epochs=epochs, verbose=False, loggers=loggers, **options)
    return learner.train(model, data, metric="accuracy")["history"]


def _write_config(tmp_path: Path, output: dict[str, Any]) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({**RUN, "output": output}))
    return path


def test_the_builtin_loggers_are_registered_in_their_own_group() -> None:
    registry = get_registry()
    assert {"csv", "tensorboard", "mlflow"} <= set(registry.names("logger"))
    assert all(e.plugin == "builtin.loggers" for e in registry.entries("logger"))


def test_scalars_name_the_headline_metric_and_drop_nan() -> None:
    row = {"epoch": 3, "train_loss": 0.5, "train_score": 0.9, "test_loss": float("nan")}
    row |= {"test_score": float("nan"), "lr": 0.01, "seconds": 1.5}
    assert epoch_scalars(row, ["accuracy"]) == {
        "train/loss": 0.5,
        "train/accuracy": 0.9,
        "lr": 0.01,
        "seconds": 1.5,
    }


def test_tensorboard_events_hold_every_epoch_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the Python default directory is the current one
    history = _train(["tensorboard"])
    events = _events(tmp_path / "tensorboard")
    assert {"train/loss", "test/loss", "train/accuracy", "test/accuracy", "lr"} <= set(
        events.Tags()["scalars"]
    )
    test_loss = events.Scalars("test/loss")
    assert [e.step for e in test_loss] == [0, 1]
    assert [e.value for e in test_loss] == pytest.approx([r["test_loss"] for r in history])
    accuracy = [e.value for e in events.Scalars("train/accuracy")]
    assert accuracy == pytest.approx([r["train_score"] for r in history])


def test_csv_logger_writes_the_history_rows(tmp_path: Path) -> None:
    spec = {"name": "csv", "parameters": {"directory": str(tmp_path), "filename": "rows.csv"}}
    history = _train([spec])
    rows = list(csv.DictReader((tmp_path / "rows.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert list(rows[0]) == list(history[0])
    assert [float(r["test_loss"]) for r in rows] == pytest.approx([r["test_loss"] for r in history])


def test_a_config_logs_under_its_output_dir_and_csv_matches_history_csv(tmp_path: Path) -> None:
    out = tmp_path / "run"
    loggers = ["tensorboard", {"name": "csv", "parameters": {"filename": "live.csv"}}]
    config = _write_config(tmp_path, {"dir": str(out), "loggers": loggers})
    done = run_rpnkit("train", str(config), "--quiet")
    assert done.returncode == 0, done.stderr
    assert (out / "live.csv").read_text() == (out / "history.csv").read_text()
    history = json.loads((out / "history.json").read_text())["history"]
    events = _events(out / "tensorboard")
    assert {"test/accuracy", "test/f1", "train/f1"} <= set(events.Tags()["scalars"])
    assert [e.value for e in events.Scalars("test/f1")] == pytest.approx(
        [r["test_f1"] for r in history]
    )
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["output"]["loggers"][0] == {"name": "tensorboard", "parameters": {}}


@pytest.mark.e2e
def test_an_unknown_logger_name_is_one_line_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ComponentNotFoundError, match="did you mean 'tensorboard'"):
        BackwardLearner(loggers=["tensorbord"])
    config = _write_config(tmp_path, {"dir": str(tmp_path / "run"), "loggers": ["tensorbord"]})
    done = run_rpnkit("train", str(config), "--quiet")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "output.loggers" in done.stderr and "did you mean 'tensorboard'" in done.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("logger", "module"), [("tensorboard", "tensorboard"), ("mlflow", "mlflow")]
)
@pytest.mark.e2e
def test_a_logger_without_its_extra_names_the_extra(
    tmp_path: Path, logger: str, module: str
) -> None:
    config = _write_config(tmp_path, {"dir": str(tmp_path / "run"), "loggers": [logger]})
    hide = (
        f"import sys; sys.modules[{module!r}] = None; from rpnkit.cli import main; "
        f"raise SystemExit(main(['train', {str(config)!r}, '--quiet']))"
    )
    done = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert f"pip install 'rpnkit[{logger}]'" in done.stderr


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ({"loggers": "tensorboard"}, "output.loggers must be a list"),
        ({"loggers": [{"name": "csv", "params": {}}]}, "output.loggers[0] has unknown key"),
    ],
)
@pytest.mark.e2e
def test_malformed_output_loggers_are_refused(
    tmp_path: Path, output: dict[str, Any], message: str
) -> None:
    done = run_rpnkit("validate", str(_write_config(tmp_path, output)))
    assert done.returncode == 2 and message in done.stderr + done.stdout


def test_learner_loggers_in_a_config_points_to_output_loggers(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({**RUN, "learner": {"n_epochs": 1, "loggers": ["csv"]}}))
    done = run_rpnkit("validate", str(path))
    assert done.returncode == 2 and "list loggers under output.loggers" in done.stderr


def test_an_object_without_training_hooks_is_refused() -> None:
    class Silent:
        def rpnkit_epoch_end(self, context: Any) -> None:  # no @hookimpl: never called
            pass

    with pytest.raises(ConfigError, match=r"loggers\[0\]: Silent implements no training hook"):
        BackwardLearner(loggers=[Silent()])


class Recorder(Logger):
    """A third-party-style logger: keeps what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[int, dict[str, float]]] = []
        self.finished: list[bool] = []

    def open(self, context: Any) -> None:
        """Nothing to open."""

    def log(self, scalars: Any, epoch: int, context: Any) -> None:
        self.rows.append((epoch, dict(scalars)))

    def finish(self, completed: bool) -> None:
        self.finished.append(completed)


def test_a_logger_object_is_opened_fed_and_finished_once(tmp_path: Path) -> None:
    recorder = Recorder()
    history = _train([recorder], epochs=3)
    assert [epoch for epoch, _ in recorder.rows] == [0, 1, 2]
    assert [s["test/loss"] for _, s in recorder.rows] == pytest.approx(
        [r["test_loss"] for r in history]
    )
    assert recorder.finished == [True]


class Explode:
    """Raises after the first epoch, as a failing plugin would."""

    @hookimpl
    def rpnkit_epoch_end(self, context: Any) -> None:
        raise RuntimeError("boom")


def test_a_failed_run_finishes_its_loggers_as_not_completed() -> None:
    recorder = Recorder()
    with pytest.raises(PluginHookError, match="rpnkit_epoch_end: RuntimeError: boom") as caught:
        _train([recorder], callbacks=[Explode()])
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert recorder.finished == [False]


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow not installed")
def test_mlflow_run_in_a_local_file_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python program allows MLflow's file store itself; the logger leaves the environment."""
    import os

    import torch._dynamo  # noqa: F401  (torch sets TORCHINDUCTOR_CACHE_DIR on this import)
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    environ = dict(os.environ)
    spec = {"name": "mlflow", "parameters": {"directory": str(tmp_path), "run_name": "iris"}}
    logger = BackwardLearner(loggers=[spec]).loggers[0]
    history = _train([logger])
    assert dict(os.environ) == environ
    client = MlflowClient(tracking_uri=logger.tracking_uri)
    run = client.get_run(logger.run_id)
    losses = client.get_metric_history(logger.run_id, "test/loss")
    assert logger.tracking_uri.startswith((tmp_path / "mlruns").as_uri())
    assert run.info.status == "FINISHED" and run.info.run_name == "iris"
    assert run.data.params["n_epochs"] == "2"
    assert [m.step for m in losses] == [0, 1]
    assert [m.value for m in losses] == pytest.approx([r["test_loss"] for r in history])


@pytest.mark.e2e
def test_under_ddp_only_rank_0_logs(tmp_path: Path) -> None:
    from tests.test_ddp import loopback_environment

    out = tmp_path / "run"
    command = ["train", str(ROOT / "configs" / "iris.yaml"), "--nproc-per-node", "2"]
    command += ["--set", "learner.n_epochs=2", "--output", str(out), "--quiet"]
    command += ["--set", "output.loggers=[tensorboard, {name: csv, parameters: {filename: a.csv}}]"]
    done = subprocess.run(
        [sys.executable, "-m", "rpnkit", *command],
        capture_output=True,
        text=True,
        env=loopback_environment(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    events = _events(out / "tensorboard")  # exactly one event file
    assert [e.step for e in events.Scalars("train/loss")] == [0, 1]
    assert (out / "a.csv").read_text() == (out / "history.csv").read_text()
