"""Stateful and per-batch compressions: PCA, random projection, variance threshold, feature
clustering (fitted on training batches only) and the manifold ones."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest
import torch

from rpnkit import build
from rpnkit.errors import ConfigError, TrainingError
from rpnkit.rpn.compression import (
    FeatureClusteringCompression,
    IncrementalPCACompression,
    RandomProjectionCompression,
    StatefulCompression,
    VarianceThresholdCompression,
)


def _batches(n: int = 3, b: int = 12, m: int = 6) -> list[torch.Tensor]:
    torch.manual_seed(5)
    scale = torch.linspace(0.2, 3.0, m)
    return [torch.randn(b, m) * scale + 1.0 for _ in range(n)]


def test_pca_equals_scikit_learn_incremental_pca() -> None:
    from sklearn.decomposition import IncrementalPCA

    batches = _batches()
    ours, ref = IncrementalPCACompression(D=3).double(), IncrementalPCA(n_components=3)
    for batch in batches:
        out = ours(batch.double())
        ref.partial_fit(batch.double().numpy())
        np.testing.assert_allclose(out.numpy(), ref.transform(batch.double().numpy()),
                                   atol=1e-9)  # fmt: skip


def test_pca_matches_tinybig_on_training_batches(tinybig: Any) -> None:
    ref = importlib.import_module("tinybig.compression").incremental_PCA_based_compression(D=2)
    ours = build("compression", "incremental_PCA_based_compression", D=2)
    for batch in _batches():
        torch.testing.assert_close(ours(batch), ref(batch).float(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    "make",
    [lambda: IncrementalPCACompression(D=2), lambda: RandomProjectionCompression(D=2),
     lambda: VarianceThresholdCompression(D=2), lambda: FeatureClusteringCompression(D=2)],
)  # fmt: skip
def test_eval_batches_never_change_the_state(make: Any) -> None:
    compression: StatefulCompression = make()
    train, test, other = _batches()
    compression(train)
    state = {k: v.clone() for k, v in compression.state_dict().items()}
    compression.eval()
    first = compression(test)
    compression(other * 5 - 2)
    assert all(torch.equal(state[k], v) for k, v in compression.state_dict().items())
    torch.testing.assert_close(compression(test), first)
    restored = make()
    restored.load_state_dict(compression.state_dict())
    torch.testing.assert_close(restored.eval()(test), first)


def test_unfitted_eval_is_a_training_error() -> None:
    with pytest.raises(TrainingError, match="fits on training batches only"):
        IncrementalPCACompression(D=2).eval()(_batches(1)[0])


def test_random_projection_is_drawn_once_from_torch_and_seeded() -> None:
    batches = _batches(2, b=8, m=400)
    torch.manual_seed(11)
    first = RandomProjectionCompression(D=50)
    out = first(batches[0])
    matrix = first.projection.clone()
    first(batches[1])
    assert torch.equal(first.projection, matrix)
    torch.manual_seed(11)
    torch.testing.assert_close(RandomProjectionCompression(D=50)(batches[0]), out)
    torch.testing.assert_close(out, batches[0] @ matrix.T)
    density = (matrix != 0).double().mean().item()
    assert abs(density - 1 / 20) < 0.01
    values = matrix[matrix != 0].abs().unique()
    torch.testing.assert_close(values, torch.tensor([(20 / 50) ** 0.5]))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("variance_threshold", "incremental_variance_threshold_based_compression"),
     ("feature_clustering", "incremental_feature_clustering_based_compression")],
)  # fmt: skip
def test_feature_selection_matches_tinybig_on_training_batches(
    tinybig: Any, ours: str, theirs: str
) -> None:
    ref = getattr(importlib.import_module("tinybig.compression"), theirs)(D=3)
    compression = build("compression", ours, D=3)
    for batch in _batches(4):
        torch.testing.assert_close(compression(batch), ref(batch).float())


def test_variance_threshold_keeps_the_widest_features_in_ascending_order() -> None:
    batch = _batches(1)[0]
    out = VarianceThresholdCompression(D=2)(batch)
    order = torch.argsort(batch.var(dim=0))[-2:]
    torch.testing.assert_close(out, batch[:, order])


@pytest.mark.parametrize(
    ("name", "params"),
    [("isomap", {"n_neighbors": 3}), ("lle", {"n_neighbors": 4}), ("mds", {}),
     ("spectral_embedding", {}), ("tsne", {"perplexity": 3.0})],
)  # fmt: skip
@pytest.mark.e2e
def test_manifold_embeds_each_batch_reproducibly(name: str, params: dict[str, Any]) -> None:
    batch = _batches(1)[0].requires_grad_()
    compression = build("compression", name, D=2, **params)
    torch.manual_seed(0)
    out = compression(batch)
    assert out.shape == (12, 2) and out.dtype == batch.dtype and not out.requires_grad
    torch.manual_seed(0)
    torch.testing.assert_close(compression(batch), out)


def test_isomap_matches_tinybig(tinybig: Any) -> None:
    ref = importlib.import_module("tinybig.compression").isomap_manifold_compression(
        D=2, n_neighbors=4
    )
    batch = _batches(1)[0]
    expected = ref(batch).float()
    torch.testing.assert_close(build("compression", "isomap", D=2, n_neighbors=4)(batch),
                               expected, atol=1e-4, rtol=1e-4)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("incremental_pca", {"D": 7}, r"D=7 is not valid for m=6"),
        ("random_projection", {"D": 0}, r"D=0 is not valid"),
        ("dimension_reduction", {"D": 2, "dr_function": "pca_x"}, r"dr_function='pca_x'"),
        ("feature_selection", {"D": 2}, r"fs_function is missing"),
        ("manifold", {"D": 2, "manifold_function": "umap"}, r"manifold_function='umap'"),
        ("tsne", {"D": 2, "perplexity": -1.0}, r"perplexity=-1.0 is not valid"),
    ],
)  # fmt: skip
def test_bad_parameters_are_one_line_errors(name: str, params: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        build("compression", name, **params).calculate_D(6)
    assert "\n" not in str(info.value)


def test_generic_classes_pick_by_name_and_first_pca_batch_must_be_large_enough() -> None:
    chosen = build("compression", "dimension_reduction_compression", D=2,
                   dr_function_configs={"function_class": "tinybig.koala.machine_learning."
                                        "dimension_reduction.incremental_PCA"})  # fmt: skip
    assert isinstance(chosen, IncrementalPCACompression)
    picked = build(
        "compression", "feature_selection", D=2, fs_function="incremental_feature_clustering"
    )
    assert isinstance(picked, FeatureClusteringCompression)
    with pytest.raises(ConfigError, match=r"D=5 needs a first training batch of at least 5"):
        IncrementalPCACompression(D=5)(torch.randn(3, 6))
