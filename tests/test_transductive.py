"""Transductive graph training: the whole graph one batch, loss and metrics on node sets.

The in-process tests use the learner directly; the e2e ones run ``rpnkit train`` / ``evaluate``
as real processes and check an interrupted-and-resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import rpnkit
from rpnkit.errors import ConfigError
from rpnkit.rpn.graph import graph_nodes, node_sets
from rpnkit.rpn.presets.graph import gcn
from rpnkit.run.structure import resolve_graph
from tests.conftest import run_rpnkit
from tests.trained_runs import rpn_layers, write_colours
from tests.trained_runs import train as train_csv

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


# ---- graph: auto inside model: rpn layer entries; predict on a graph run ------------------

KARATE = {"name": "karate_club", "parameters": {}}


def _rpn_graph_config(tmp_path: Path, epochs: int = 3) -> Path:
    """A ``model: rpn`` of two GCN layers and one GAT layer, each on ``graph: auto``."""
    path = tmp_path / "rpn_graph.json"  # JSON is YAML
    layer = "graph_interdependence_layer"
    path.write_text(json.dumps({
        "seed": 0, "threads": 1,
        "data": KARATE,
        "model": {"name": "rpn", "parameters": {"layers": [
            {"name": layer, "parameters": {"m": 34, "n": 8, "graph": "auto"}},
            {"name": "graph_bilinear_interdependence_layer",
             "parameters": {"m": 8, "n": 4, "graph": "auto"}},
            {"name": layer, "parameters": {"m": 4, "n": 2, "graph": "auto",
                                           "with_relu": False}},
        ]}},
        "learner": {"n_epochs": epochs, "loss": "cross_entropy",
                    "optimizer": {"name": "adam", "parameters": {"lr": 0.01}}},
        "metric": ["accuracy"],
        "output": {"dir": str(tmp_path / "run"), "save_model": True},
    }))  # fmt: skip
    return path


def test_resolve_graph_reaches_layer_entries_and_nested_specs() -> None:
    model = {"name": "rpn", "parameters": {"layers": [
        {"name": "graph_interdependence_layer", "parameters": {"m": 4, "graph": "auto"}},
        {"m": 4, "n": 2, "instance_interdependence": {"name": "graph",
                                                      "parameters": {"graph": "auto"}}},
        {"name": "chain_interdependence_layer", "parameters": {"m": 2, "graph": "other"}},
    ]}}  # fmt: skip
    resolved = resolve_graph(model, KARATE)
    layers = resolved["parameters"]["layers"]
    assert layers[0]["parameters"]["graph"] == KARATE
    assert layers[1]["instance_interdependence"]["parameters"]["graph"] == KARATE
    assert layers[2]["parameters"]["graph"] == "other"  # only auto is the run's graph
    assert model["parameters"]["layers"][0]["parameters"]["graph"] == "auto"  # a copy
    assert resolve_graph({"name": "rpn"}, KARATE) == {"name": "rpn"}


def test_rpnkit_validate_a_model_rpn_with_graph_auto_layers(tmp_path: Path) -> None:
    done = run_rpnkit("validate", str(_rpn_graph_config(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout and "rpn" in done.stdout


def test_a_model_without_a_graph_has_no_node_count() -> None:
    data = rpnkit.build("dataset", "sbm", **SBM)
    assert graph_nodes(gcn([4, 2], graph=data)) == 40
    assert graph_nodes(rpnkit.build("model", "gat", dims=[4, 2], graph=data)) == 40
    assert graph_nodes(rpnkit.build("model", "rnn", chain_length=3, dims=[2, 3, 2])) is None


@pytest.fixture(scope="module")
def graph_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``model: rpn`` with ``graph: auto`` layers trained for 3 epochs by ``rpnkit train``."""
    folder = tmp_path_factory.mktemp("rpn_graph")
    done = run_rpnkit("train", str(_rpn_graph_config(folder)), "--quiet")
    assert done.returncode == 0, done.stderr
    return folder / "run"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.e2e
def test_rpnkit_train_resolves_graph_auto_in_layer_entries(graph_run: Path) -> None:
    saved = (graph_run / "config.yaml").read_text()
    assert "graph: auto" not in saved and "karate_club" in saved  # it rebuilds its graph
    run = rpnkit.load_run(graph_run)
    assert run.graph_nodes() == 34


@pytest.mark.e2e
def test_predict_a_graph_run_without_input_gives_every_node(
    graph_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "nodes.csv"
    done = run_rpnkit("predict", str(graph_run), "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = _rows(out)
    assert [row["node"] for row in rows] == [str(i) for i in range(34)]
    assert list(rows[0])[:2] == ["node", "prediction"]
    # the same as the model on the graph's own features, in node order
    run = rpnkit.load_run(graph_run)
    graph = rpnkit.build("dataset", "karate_club").graph
    with torch.no_grad():
        expected = run.model(graph.x).argmax(1).tolist()
    assert [row["prediction"] for row in rows] == [graph.classes[i] for i in expected]
    # a file with every node's features in node order gives the same predictions
    features = tmp_path / "features.npy"
    np.save(features, graph.x.numpy())
    again = tmp_path / "again.csv"
    done = run_rpnkit("predict", str(graph_run), str(features), "-o", str(again))
    assert done.returncode == 0, done.stderr
    assert _rows(again) == rows


@pytest.mark.e2e
def test_predict_refuses_a_file_with_another_node_count(graph_run: Path, tmp_path: Path) -> None:
    features = tmp_path / "ten.npy"
    np.save(features, rpnkit.build("dataset", "karate_club").graph.x.numpy()[:10])
    done = run_rpnkit("predict", str(graph_run), str(features), "-o", str(tmp_path / "x.csv"))
    assert done.returncode == 2
    message = done.stderr.strip()
    assert "\n" not in message
    assert "10 row(s)" in message and "34 nodes" in message
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(ConfigError, match="34 nodes"):
        rpnkit.load_run(graph_run).predict(torch.zeros(33, 34))


@pytest.mark.e2e
def test_predict_without_input_needs_a_graph_run(tmp_path: Path) -> None:
    data = write_colours(tmp_path / "colours.csv")
    run = train_csv(
        tmp_path, data, "colour", {"name": "rpn", "parameters": {"layers": rpn_layers(3)}}
    )
    done = run_rpnkit("predict", str(run), "-o", str(tmp_path / "out.csv"))
    assert done.returncode == 2
    assert "not trained on a graph" in done.stderr and "\n" not in done.stderr.strip()
