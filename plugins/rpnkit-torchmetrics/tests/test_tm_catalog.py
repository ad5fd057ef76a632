"""The catalog agrees with the installed torchmetrics, so neither can drift silently."""

from __future__ import annotations

import inspect
import re

import pytest
import torchmetrics
import torchmetrics.classification
import torchmetrics.regression
from rpnkit_torchmetrics.catalog import CATALOG, CatalogEntry
from rpnkit_torchmetrics.metrics import adapter_class

pytestmark = pytest.mark.filterwarnings("ignore:Metric `SpearmanCorrcoef` will save")

# Classification and regression metrics torchmetrics exports that the catalog leaves out.
NOT_REGISTERED: dict[str, str] = {
    "ConfusionMatrix": "returns a matrix, not one number",
    "StatScores": "returns counts of tp, fp, tn, fn and support, not one number",
    "ROC": "returns a curve",
    "PrecisionRecallCurve": "returns a curve",
    "PrecisionAtFixedRecall": "returns a (precision, threshold) pair",
    "RecallAtFixedPrecision": "returns a (recall, threshold) pair",
    "SensitivityAtSpecificity": "returns a (sensitivity, threshold) pair",
    "SpecificityAtSensitivity": "returns a (specificity, threshold) pair",
    "CosineSimilarity": "compares (b, d) vectors; one-output predictions give only ±1",
    "KLDivergence": "compares two distributions per sample, not predictions with targets",
    "JensenShannonDivergence": "compares two distributions per sample, not predictions",
    "ContinuousRankedProbabilityScore": "scores an ensemble of predictions per target",
    "CriticalSuccessIndex": "scores thresholded forecast fields; newer than torchmetrics 1.1",
    "EER": "newer than torchmetrics 1.1, the oldest version the plugin supports",
    "LogAUC": "newer than torchmetrics 1.1, the oldest version the plugin supports",
    "NegativePredictiveValue": "newer than torchmetrics 1.1, the oldest version supported",
    "NormalizedRootMeanSquaredError": "newer than torchmetrics 1.1, the oldest version supported",
}


def _exported_metrics() -> set[str]:
    """Task-level classification metrics (taking ``task`` and ``num_classes``) and regression
    metrics."""
    classification = {
        name
        for name in torchmetrics.classification.__all__
        if inspect.isclass(cls := getattr(torchmetrics.classification, name))
        and {"task", "num_classes"} <= set(inspect.signature(cls).parameters)
    }
    return classification | set(torchmetrics.regression.__all__)


def _torchmetrics_instance(entry: CatalogEntry) -> torchmetrics.Metric:
    cls = getattr(torchmetrics, entry.class_name)
    if entry.kind == "classification":
        return cls(task="multiclass", num_classes=3)
    return cls(p=2.0) if entry.class_name == "MinkowskiDistance" else cls()


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_every_entry_names_a_torchmetrics_metric_of_its_kind(entry: CatalogEntry) -> None:
    cls = getattr(torchmetrics, entry.class_name)
    package = f"torchmetrics.{entry.kind}"
    assert cls.__module__.startswith(package + "."), f"{cls.__module__} is not in {package}"
    assert isinstance(_torchmetrics_instance(entry), torchmetrics.Metric)


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_higher_is_better_agrees_where_torchmetrics_declares_it(entry: CatalogEntry) -> None:
    declared = _torchmetrics_instance(entry).higher_is_better
    if declared is not None:
        assert entry.higher_is_better is declared


def test_every_scalar_metric_torchmetrics_exports_is_registered_or_excluded() -> None:
    registered = {entry.class_name for entry in CATALOG}
    assert not registered & set(NOT_REGISTERED)
    assert _exported_metrics() - registered - set(NOT_REGISTERED) == set()


def test_names_are_unique_prefixed_registry_names() -> None:
    names = [name for entry in CATALOG for name in (entry.name, *entry.aliases)]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"tm\.[a-z][a-z0-9_]*", name) for name in names)
    assert len({entry.class_name for entry in CATALOG}) == len(CATALOG)


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_adapter_signature_is_the_torchmetrics_one_keyword_only(entry: CatalogEntry) -> None:
    adapter = adapter_class(entry)
    ours = inspect.signature(adapter).parameters
    theirs = inspect.signature(getattr(torchmetrics, entry.class_name)).parameters
    assert list(ours) == list(theirs)
    assert all(
        p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD)
        for p in ours.values()
    )
    if entry.kind == "classification":
        assert ours["task"].default is None
    assert (adapter.name, adapter.higher_is_better) == (entry.name, entry.higher_is_better)
