"""Under DDP the adapters sync through torchmetrics once: synced values equal one process's."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rpnkit import build

pytestmark = pytest.mark.filterwarnings("ignore:Metric `SpearmanCorrcoef` will save")

WORLD_SIZE = 2
# (metric name, parameters, classification data?): sum states, cat states and regression.
CASES: tuple[tuple[str, dict[str, Any], bool], ...] = (
    ("tm.accuracy", {}, True),
    ("tm.f1_score", {"average": "macro"}, True),
    ("tm.auroc", {"task": "multiclass", "num_classes": 3}, True),
    ("tm.r2_score", {}, False),
    ("tm.spearman_corr_coef", {}, False),
)


def _batches(classification: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Seven batches of 8 samples: the ranks get 4 and 3 of them, so states differ in size."""
    generator = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(7):
        if classification:
            scores = torch.randn(8, 3, generator=generator).softmax(dim=1)
            batches.append((scores, torch.randint(0, 3, (8,), generator=generator)))
        else:
            target = torch.randn(8, generator=generator)
            batches.append((target + 0.5 * torch.randn(8, generator=generator), target))
    return batches


def _run_rank(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD_SIZE)
    results: dict[str, dict[str, float]] = {}
    try:
        for name, parameters, classification in CASES:
            metric = build("metric", name, **parameters)
            batches = _batches(classification)
            for y_score, y_true in batches[rank::WORLD_SIZE]:
                metric.update(y_score, y_true)
            local = float(metric.compute())
            with metric.synced():
                synced = float(metric.compute())
            after = float(metric.compute())
            metric.sync()
            permanent = float(metric.compute())
            metric.update(*batches[0])
            results[name] = {
                "local": local,
                "synced": synced,
                "after": after,
                "permanent": permanent,
                "updated": float(metric.compute()),
            }
    finally:
        dist.destroy_process_group()
    torch.save(results, Path(out) / f"rank{rank}.pt")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, dict[str, float]]]:
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(_run_rank, args=(_free_port(), str(out)), nprocs=WORLD_SIZE, join=True)
    return [torch.load(out / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]


def _single_process(name: str, parameters: dict[str, Any], classification: bool) -> Any:
    metric = build("metric", name, **parameters)
    for y_score, y_true in _batches(classification):
        metric.update(y_score, y_true)
    return metric


@pytest.mark.parametrize(("name", "parameters", "classification"), CASES)
def test_synced_value_equals_one_process_on_all_data(
    rank_results: list[dict[str, dict[str, float]]],
    name: str,
    parameters: dict[str, Any],
    classification: bool,
) -> None:
    expected = float(_single_process(name, parameters, classification).compute())
    for results in rank_results:
        assert results[name]["synced"] == pytest.approx(expected, abs=1e-6)
        assert results[name]["permanent"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("name", "parameters", "classification"), CASES)
def test_synced_block_restores_the_local_states(
    rank_results: list[dict[str, dict[str, float]]],
    name: str,
    parameters: dict[str, Any],
    classification: bool,
) -> None:
    batches = _batches(classification)
    for rank, results in enumerate(rank_results):
        local = build("metric", name, **parameters)
        for y_score, y_true in batches[rank::WORLD_SIZE]:
            local.update(y_score, y_true)
        assert results[name]["local"] == pytest.approx(float(local.compute()), abs=1e-6)
        assert results[name]["after"] == results[name]["local"]


@pytest.mark.parametrize(("name", "parameters", "classification"), CASES)
def test_sync_is_permanent_and_updates_go_on(
    rank_results: list[dict[str, dict[str, float]]],
    name: str,
    parameters: dict[str, Any],
    classification: bool,
) -> None:
    metric = _single_process(name, parameters, classification)
    metric.update(*_batches(classification)[0])
    for results in rank_results:
        assert results[name]["updated"] == pytest.approx(float(metric.compute()), abs=1e-6)
