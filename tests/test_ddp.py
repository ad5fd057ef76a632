"""Data-parallel training: two gloo processes on the CPU, launched by torchrun on the loopback.

The torchrun tests launch this very file: run as a script, it is the training script every
process runs (:func:`worker`), and it saves what each rank saw for the tests to compare with
a single-process run computed here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

from rpnkit.cli import main
from rpnkit.errors import ConfigError
from rpnkit.learner import BackwardLearner
from rpnkit.learner.checkpoint import load_checkpoint
from rpnkit.run.config import normalize_config
from rpnkit.run.runner import run_config

ROOT = Path(__file__).resolve().parents[1]
WORLD_SIZE = 2
SEED = 3
# 36 training samples in batches of 8: four full batches and a partial one of 4, which the
# two processes split 2 + 2. 21 test samples: the processes evaluate 11 and 10 of them.
N_TRAIN, N_TEST, BATCH_SIZE, TEST_BATCH_SIZE, EPOCHS = 36, 21, 8, 4, 3
METRICS = ["accuracy", "f1"]
RUN_CONFIG = {
    "seed": 0,
    "data": {"name": "iris", "parameters": {"batch_size": 16}},
    "model": {"name": "rpn", "parameters": {"layers": [{"m": 4, "n": 3}]}},
    "learner": {"n_epochs": 2, "verbose": False},
    "metric": "accuracy",
}


def tensors() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(N_TRAIN + N_TEST, 5, generator=generator)
    y = (x[:, :3] + 0.5 * torch.randn(N_TRAIN + N_TEST, 3, generator=generator)).argmax(dim=1)
    return x, y


def evaluation_loader() -> DataLoader[tuple[torch.Tensor, ...]]:
    x, y = tensors()
    return DataLoader(TensorDataset(x[N_TRAIN:], y[N_TRAIN:]), batch_size=TEST_BATCH_SIZE)


def data(batch_size: int = BATCH_SIZE, sampler: Sampler[int] | None = None) -> dict[str, Any]:
    """Shuffled training data (generator seed ``SEED``), or drawn by ``sampler``."""
    x, y = tensors()
    train = TensorDataset(x[:N_TRAIN], y[:N_TRAIN])
    if sampler is None:
        generator = torch.Generator().manual_seed(SEED)
        loader = DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator)
    else:
        loader = DataLoader(train, batch_size=batch_size, sampler=sampler)
    return {"train_loader": loader, "test_loader": evaluation_loader()}


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3))


def learner(**kwargs: Any) -> BackwardLearner:
    kwargs.setdefault("n_epochs", EPOCHS)
    sgd = {"name": "sgd", "parameters": {"lr": 0.1, "momentum": 0.9}}
    return BackwardLearner(optimizer=sgd, verbose=False, **kwargs)


class ReseededPermutation(Sampler[int]):
    """The single-process order equal to DistributedSampler's: epoch ``e`` visits
    ``randperm(n)`` drawn from a generator seeded ``seed + e``."""

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seed, self.epoch = size, seed, 0

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self) -> int:
        return self.size


# -- the script every process runs -----------------------------------------------------------------
def worker(out: Path) -> None:
    """Train, test, resume and run a config as one of the launched processes; save the results."""
    rank = int(os.environ["RANK"])
    results: dict[str, Any] = {}

    trained = model()
    record = learner(checkpoint_dir=out / "full").train(trained, data(), metric=METRICS)
    results["weights"] = trained.state_dict()
    results["history"] = record["history"]
    results["batch_losses"] = [b["loss"] for b in record["training"][0]["batch_records"].values()]
    results["test"] = learner().test(trained, evaluation_loader(), metric=METRICS)

    learner(n_epochs=2, checkpoint_dir=out / "part").train(model(), data(), metric=METRICS)
    resumed = model()
    learner(resume=out / "part").train(resumed, data(), metric=METRICS)
    results["resumed"] = resumed.state_dict()

    config = normalize_config({**RUN_CONFIG, "output": {"dir": str(out / "run")}})
    written = run_config(config).output_dir
    results["output_dir"] = None if written is None else str(written)

    errors = {}
    for batch_size in (1, 5):
        try:
            learner().train(model(), data(batch_size=batch_size))
        except ConfigError as exc:
            errors[batch_size] = str(exc)
    results["errors"] = errors
    torch.save(results, out / f"rank{rank}.pt")


# -- launching ---------------------------------------------------------------------------------
def loopback_environment() -> dict[str, str]:
    """The environment of launched processes: one thread each, gloo on the loopback only."""
    loopback = next(name for _, name in socket.if_nameindex() if name.startswith("lo"))
    return {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": loopback}


def torchrun(*arguments: str) -> subprocess.CompletedProcess[str]:
    """``python -m torch.distributed.run`` on 2 local processes meeting on 127.0.0.1."""
    launch = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        f"--nproc-per-node={WORLD_SIZE}",
        "--rdzv-backend=c10d",
        "--rdzv-endpoint=127.0.0.1:0",
        "--rdzv-id=rpnkit-test",
    ]
    return subprocess.run(
        [*launch, *arguments],
        capture_output=True,
        text=True,
        env=loopback_environment(),
        cwd=ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """Run :func:`worker` on 2 processes once; return the output folder and each rank's results."""
    out = tmp_path_factory.mktemp("ddp")
    done = torchrun(__file__, str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    return out, [torch.load(out / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]


@pytest.fixture(scope="module")
def single() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The single-process run with the same global batches: final weights and record."""
    reference = model()
    sampler = ReseededPermutation(N_TRAIN, SEED)
    record = learner().train(reference, data(sampler=sampler), metric=METRICS)
    return reference.state_dict(), dict(record)


@pytest.mark.e2e
def test_final_weights_equal_a_single_process_run_with_the_same_global_batch(
    launched: tuple[Path, list[dict[str, Any]]], single: tuple[dict[str, torch.Tensor], Any]
) -> None:
    weights, _ = single
    for rank_results in launched[1]:
        for name, value in weights.items():
            torch.testing.assert_close(rank_results["weights"][name], value, rtol=0, atol=1e-5)
    changed = [not torch.equal(weights[name], model().state_dict()[name]) for name in weights]
    assert all(changed)


def test_losses_are_over_the_global_batch(
    launched: tuple[Path, list[dict[str, Any]]], single: tuple[Any, dict[str, Any]]
) -> None:
    _, record = single
    expected = [b["loss"] for b in record["training"][0]["batch_records"].values()]
    for rank_results in launched[1]:
        assert rank_results["batch_losses"] == pytest.approx(expected, rel=1e-5)
        train_losses = [row["train_loss"] for row in rank_results["history"]]
        assert train_losses == pytest.approx([r["train_loss"] for r in record["history"]], 1e-5)


def test_test_metrics_equal_the_single_process_ones_on_every_rank(
    launched: tuple[Path, list[dict[str, Any]]], single: tuple[Any, dict[str, Any]]
) -> None:
    _, record = single
    columns = ["test_score", "test_accuracy", "test_f1"]
    for rank_results in launched[1]:
        for ours, reference in zip(rank_results["history"], record["history"], strict=True):
            assert [ours[key] for key in columns] == [reference[key] for key in columns]
            assert ours["test_loss"] == pytest.approx(reference["test_loss"], rel=1e-6)
    first, second = (r["history"] for r in launched[1])
    for row_a, row_b in zip(first, second, strict=True):
        assert {k: v for k, v in row_a.items() if k != "seconds"} == {
            k: v for k, v in row_b.items() if k != "seconds"
        }


def test_test_gathers_the_whole_test_set_on_every_rank(
    launched: tuple[Path, list[dict[str, Any]]],
) -> None:
    trained = model()
    trained.load_state_dict(launched[1][0]["weights"])
    expected = learner().test(trained, evaluation_loader(), metric=METRICS)
    for rank_results in launched[1]:
        result = rank_results["test"]
        assert result["y_true"] == expected["y_true"]
        assert result["y_pred"] == expected["y_pred"]
        torch.testing.assert_close(
            torch.tensor(result["y_score"]), torch.tensor(expected["y_score"]), rtol=0, atol=1e-6
        )
        assert result["test_scores"] == expected["test_scores"]
        assert result["test_loss"] == pytest.approx(expected["test_loss"], rel=1e-6)


def test_resume_under_ddp_ends_where_the_uninterrupted_run_does(
    launched: tuple[Path, list[dict[str, Any]]],
) -> None:
    out, results = launched
    for rank_results in results:
        for name, value in rank_results["weights"].items():
            assert torch.equal(rank_results["resumed"][name], value)
    # The checkpoint holds the model's own keys, so it loads without DDP too.
    saved = load_checkpoint(out / "full")
    assert [row["epoch"] for row in saved["history"]] == list(range(EPOCHS))
    plain = model()
    plain.load_state_dict(saved["model"])
    assert all(torch.equal(plain.state_dict()[k], v) for k, v in results[0]["weights"].items())


def test_only_rank_0_writes_the_run_outputs(launched: tuple[Path, list[dict[str, Any]]]) -> None:
    out, results = launched
    assert results[0]["output_dir"] == str(out / "run")
    assert results[1]["output_dir"] is None
    assert sorted(p.name for p in (out / "run").iterdir()) == [
        "config.yaml",
        "history.csv",
        "history.json",
        "model.pt",
        "preprocessing.json",
    ]
    assert sorted(p.name for p in (out / "full").iterdir()) == ["last.pt"]


def test_a_batch_size_that_does_not_split_over_the_processes_is_a_one_line_error(
    launched: tuple[Path, list[dict[str, Any]]],
) -> None:
    for rank_results in launched[1]:
        errors = rank_results["errors"]
        assert set(errors) == {1, 5}
        assert "batch_size=1 is smaller than the world size 2" in errors[1]
        assert "batch_size=5 is not a multiple of the world size 2" in errors[5]
        assert all("\n" not in message for message in errors.values())


# -- the command line --------------------------------------------------------------------------
@pytest.mark.e2e
def test_rpnkit_train_nproc_per_node_trains_on_two_processes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = ["train", str(ROOT / "configs" / "iris.yaml"), "--nproc-per-node", "2"]
    command += ["--set", "learner.n_epochs=2", "--output", str(out), "--quiet"]
    done = subprocess.run(
        [sys.executable, "-m", "rpnkit", *command],
        capture_output=True,
        text=True,
        env=loopback_environment(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == [
        "config.yaml",
        "history.csv",
        "history.json",
        "model.pt",
        "preprocessing.json",
    ]
    history = json.loads((out / "history.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [0, 1]
    assert 0 <= history[-1]["test_score"] <= 1
    weights = torch.load(out / "model.pt", weights_only=True)
    assert weights and not any(key.startswith("module.") for key in weights)


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def _train(tmp_path: Path, *extra: str) -> int:
    iris = str(ROOT / "configs" / "iris.yaml")
    return main(["train", iris, "--output", str(tmp_path / "out"), "--quiet", *extra])


@pytest.mark.parametrize("value", ["0", "-2"])
def test_nproc_per_node_below_one_is_refused(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _train(tmp_path, "--nproc-per-node", value) == 2
    assert f"--nproc-per-node={value} is not valid; expected an integer >= 1" in _error_line(capsys)


@pytest.mark.parametrize(
    ("processes", "batch_size", "expected"),
    [
        ("3", "16", "data.parameters.batch_size=16 is not a multiple of the world size 3"),
        ("2", "1", "data.parameters.batch_size=1 is smaller than the world size 2"),
    ],
)
def test_nproc_per_node_checks_the_batch_size_before_launching(
    processes: str,
    batch_size: str,
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    override = f"data.parameters.batch_size={batch_size}"
    assert _train(tmp_path, "--nproc-per-node", processes, "--set", override) == 2
    assert expected in _error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_nproc_per_node_is_refused_inside_a_launch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RANK", "1")
    assert _train(tmp_path, "--nproc-per-node", "2") == 2
    assert "already rank 1" in _error_line(capsys)


def test_nproc_per_node_with_strategy_single_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _train(tmp_path, "--nproc-per-node", "2", "--set", "strategy=single") == 2
    assert "strategy: single" in _error_line(capsys)


def test_strategy_ddp_without_a_launch_says_how_to_launch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _train(tmp_path, "--set", "strategy=ddp", "--set", "learner.n_epochs=1") == 2
    line = _error_line(capsys)
    assert "strategy='ddp' needs a torch.distributed launch" in line
    assert "--nproc-per-node" in line
    assert not (tmp_path / "out").exists()


def test_nccl_on_the_cpu_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _train(tmp_path, "--set", "learner.backend=nccl", "--set", "learner.n_epochs=1") == 2
    assert "backend='nccl' needs CUDA, but the device is 'cpu'" in _error_line(capsys)


def test_unknown_strategy_and_backend_are_refused_with_suggestions() -> None:
    with pytest.raises(ConfigError, match=r"strategy='dpp' is not valid \(did you mean 'ddp'\?\)"):
        learner().train(model(), data(), strategy="dpp")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"backend='glo' is not valid \(did you mean 'gloo'\?\)"):
        learner(backend="glo")


def test_strategy_single_trains_alone_under_a_launch_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    trained = model()
    record = learner(n_epochs=1).train(trained, data(), metric=METRICS, strategy="single")
    assert len(record["history"]) == 1
    assert not torch.distributed.is_initialized()


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
