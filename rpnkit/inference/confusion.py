"""The confusion matrix of a trained run on its test split (``rpnkit plot --confusion``)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from rpnkit.errors import ConfigError
from rpnkit.inference.run import LoadedRun
from rpnkit.metrics.confusion import ConfusionMatrix
from rpnkit.plugins.state import get_registry

__all__ = ["run_confusion"]


def run_confusion(run: LoadedRun) -> tuple[Tensor, list[str]]:
    """The confusion matrix of ``run``'s model on its test split, and the class names.

    The dataset is rebuilt from the run's config (its split is seeded, so it is the test
    split the run reported).

    Returns
    -------
    tuple of Tensor and list of str
        The ``(C, C)`` counts (rows: true class, columns: predicted class) and the name of
        every class (the data's own names, else ``"0"``, ``"1"``, ...).

    Raises
    ------
    ConfigError
        For a regression run, or a dataset that cannot be rebuilt or has no test split.
    """
    from rpnkit.learner import BackwardLearner

    config = run.config
    prep = run.preprocessing
    if getattr(prep, "task", "classification") == "regression":
        raise ConfigError(
            f"run {str(run.run_dir)!r} is a regression run; a confusion matrix counts classes"
        )
    spec = config.data
    try:
        bundle = get_registry().build("dataset", spec["name"], **spec["parameters"])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"data: the run's dataset cannot be rebuilt: {exc}") from None
    if not isinstance(bundle, Mapping) or "test_loader" not in bundle:
        raise ConfigError(f"dataset {spec['name']!r} has no test split to count")
    rows = getattr(getattr(bundle, "graph", None), "test_idx", None)
    result = BackwardLearner(verbose=False).test(
        run.model,
        bundle["test_loader"],
        run.device,
        return_full_result=True,
        strategy="single",
        test_idx=rows,
    )
    run.model.eval()
    classes = getattr(prep, "classes", None) or getattr(bundle, "classes", None)
    count = len(classes) if classes else None
    scores = torch.as_tensor(result["y_score"])
    matrix = ConfusionMatrix.of(torch.as_tensor(result["y_true"]), scores, num_classes=count)
    names = list(classes) if classes else [str(i) for i in range(matrix.shape[0])]
    return matrix, names
