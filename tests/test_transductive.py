"""Transductive graph training: the whole graph one batch, loss and metrics on node sets.

The in-process tests use the learner directly; the e2e ones run ``rpnkit train`` / ``evaluate``
as real processes and check an interrupted-and-resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import rpnkit
from rpnkit.errors import ConfigError
from rpnkit.rpn.graph import node_sets
from rpnkit.rpn.presets.graph import gcn

SBM = {"n_classes": 2, "nodes_per_class": 20, "n_features": 4, "seed": 1,
       "train_size": 0.4, "val_size": 0.2, "test_size": 0.4}  # fmt: skip


def _train(data: object, model: torch.nn.Module, **learner: object) -> dict:
    learner_obj = rpnkit.BackwardLearner(
        n_epochs=learner.pop("n_epochs", 4), loss="nll", optimizer="adam", verbose=False,
        seed=0, **learner,
    )  # fmt: skip
    return learner_obj.train(model, data, metric="accuracy", disable_tqdm=True, **node_sets(data))


def test_training_uses_only_the_training_nodes_labels() -> None:
    data = rpnkit.build("dataset", "sbm", **SBM)
    torch.manual_seed(0)
    model = gcn([4, 8, 2], graph=data)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _train(data, model, n_epochs=3)
    # the same training with every non-training label changed gives the same weights
    graph = data.graph
    flipped_y = graph.y.clone()
    others = torch.ones(len(flipped_y), dtype=torch.bool)
    others[graph.train_idx] = False
    flipped_y[others] = 1 - flipped_y[others]
    flipped = rpnkit.build("dataset", "sbm", **SBM)
    flipped.graph.y[:] = flipped_y  # the bundle's loaders serve the same tensors
    torch.manual_seed(0)
    twin = gcn([4, 8, 2], graph=flipped)
    twin.load_state_dict(before)
    _train(flipped, twin, n_epochs=3)
    for key, value in model.state_dict().items():
        assert torch.equal(value, twin.state_dict()[key]), key


def test_test_numbers_are_taken_on_the_test_nodes() -> None:
    data = rpnkit.build("dataset", "sbm", **SBM)
    torch.manual_seed(0)
    model = gcn([4, 8, 2], graph=data)
    record = _train(data, model, n_epochs=2)
    model.eval()
    with torch.no_grad():
        out = model(data.graph.x)
    test = data.graph.test_idx
    accuracy = float((out[test].argmax(1) == data.graph.y[test]).float().mean())
    assert record["history"][-1]["test_score"] == pytest.approx(accuracy)


def test_node_sets_are_refused_under_ddp_in_one_line(tmp_path: Path) -> None:
    data = rpnkit.build("dataset", "sbm", **SBM)
    model = gcn([4, 2], graph=data)
    learner = rpnkit.BackwardLearner(n_epochs=1, loss="nll", verbose=False)
    dist = torch.distributed
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0,
                            world_size=1)  # fmt: skip
    try:
        with pytest.raises(ConfigError) as caught:
            learner.train(model, data, strategy="ddp", disable_tqdm=True, **node_sets(data))
    finally:
        dist.destroy_process_group()
    assert "\n" not in str(caught.value)
    assert "idx" in str(caught.value)


def _config(tmp_path: Path, out: str, epochs: int) -> Path:
    path = tmp_path / f"{out}.json"  # JSON is YAML
    path.write_text(json.dumps({
        "seed": 0, "threads": 1,
        "data": {"name": "sbm", "parameters": SBM},
        "model": {"name": "gcn", "parameters": {"dims": ["auto", 8, "auto"], "graph": "auto",
                                                "with_dropout": True, "p": 0.5}},
        "learner": {"n_epochs": epochs, "loss": "nll",
                    "optimizer": {"name": "adam", "parameters": {"lr": 0.01}}},
        "metric": ["accuracy"],
        "output": {"dir": str(tmp_path / out), "save_model": True, "checkpoints": True},
    }))  # fmt: skip
    return path


def _rpnkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "rpnkit", *args], capture_output=True, text=True, cwd=cwd
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.e2e
def test_rpnkit_train_resume_and_evaluate_a_graph(tmp_path: Path) -> None:
    _rpnkit("train", str(_config(tmp_path, "full", 6)), cwd=tmp_path)
    _rpnkit("train", str(_config(tmp_path, "part", 3)), cwd=tmp_path)
    _rpnkit("train", "--resume", str(tmp_path / "part"), "--set", "learner.n_epochs=6",
            cwd=tmp_path)  # fmt: skip
    full = torch.load(tmp_path / "full" / "model.pt", weights_only=True)
    part = torch.load(tmp_path / "part" / "model.pt", weights_only=True)
    full, part = full.get("model", full), part.get("model", part)
    assert full.keys() == part.keys()
    assert all(torch.equal(full[key], part[key]) for key in full)

    def history(run: str) -> list[dict]:
        rows = json.loads((tmp_path / run / "history.json").read_text())["history"]
        return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]

    assert len(history("full")) == 6 and history("full") == history("part")
    report = _rpnkit("evaluate", str(tmp_path / "full"), cwd=tmp_path).stdout
    test_nodes = round(SBM["test_size"] * 40)
    assert f"{test_nodes} samples" in report
