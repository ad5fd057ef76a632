"""The torchmetrics metrics this plugin registers, as plain data.

Listing the metrics reads only this table, so it imports neither torchmetrics nor torch.
Each entry names a class exported by the top-level ``torchmetrics`` namespace; the rpnkit
adapter of an entry is made on first use by :mod:`rpnkit_torchmetrics.metrics`.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = ["CATALOG", "CatalogEntry", "Kind"]

#: How an adapter passes rpnkit's ``(y_score, y_true)`` on to torchmetrics: as scores and class
#: labels (``"classification"``) or as predictions and targets of one shape (``"regression"``).
Kind = Literal["classification", "regression"]


class CatalogEntry(NamedTuple):
    """One torchmetrics metric in rpnkit's ``metric`` group.

    Attributes
    ----------
    name
        Registry name: ``tm.`` followed by lower snake case.
    class_name
        Name of the metric class in the ``torchmetrics`` namespace.
    kind
        How inputs are prepared for torchmetrics.
    higher_is_better
        Whether a larger value means a better model (torchmetrics leaves it unset for some
        metrics, rpnkit needs it for early stopping and checkpoints).
    summary
        One-line description shown by ``rpnkit list``.
    aliases
        Other registry names.
    """

    name: str
    class_name: str
    kind: Kind
    higher_is_better: bool
    summary: str
    aliases: tuple[str, ...] = ()


CATALOG: tuple[CatalogEntry, ...] = (
    # classification: task wrappers taking task= "binary" | "multiclass" | "multilabel"
    CatalogEntry("tm.accuracy", "Accuracy", "classification", True,
                 "Accuracy (top-k, micro / macro / weighted)"),
    CatalogEntry("tm.precision", "Precision", "classification", True,
                 "Precision tp / (tp + fp)"),
    CatalogEntry("tm.recall", "Recall", "classification", True,
                 "Recall (sensitivity) tp / (tp + fn)"),
    CatalogEntry("tm.f1_score", "F1Score", "classification", True,
                 "F1 score, harmonic mean of precision and recall", ("tm.f1",)),
    CatalogEntry("tm.fbeta_score", "FBetaScore", "classification", True,
                 "F-beta score, recall weighted beta times as much as precision"),
    CatalogEntry("tm.specificity", "Specificity", "classification", True,
                 "Specificity tn / (tn + fp)"),
    CatalogEntry("tm.auroc", "AUROC", "classification", True,
                 "Area under the ROC curve (one-vs-rest for several classes)"),
    CatalogEntry("tm.average_precision", "AveragePrecision", "classification", True,
                 "Average precision, area under the precision-recall curve"),
    CatalogEntry("tm.matthews_corr_coef", "MatthewsCorrCoef", "classification", True,
                 "Matthews correlation coefficient", ("tm.mcc",)),
    CatalogEntry("tm.cohen_kappa", "CohenKappa", "classification", True,
                 "Cohen's kappa, agreement corrected for chance (binary, multiclass)"),
    CatalogEntry("tm.jaccard_index", "JaccardIndex", "classification", True,
                 "Jaccard index (intersection over union) of predicted and true classes"),
    CatalogEntry("tm.hamming_distance", "HammingDistance", "classification", False,
                 "Hamming distance, the fraction of wrong labels"),
    CatalogEntry("tm.calibration_error", "CalibrationError", "classification", False,
                 "Expected calibration error of the predicted probabilities (binned)"),
    CatalogEntry("tm.hinge_loss", "HingeLoss", "classification", False,
                 "Mean hinge loss of the scores (binary, multiclass)"),
    CatalogEntry("tm.exact_match", "ExactMatch", "classification", True,
                 "Fraction of samples with every label right (multiclass, multilabel)"),
    # regression: predictions and targets of shape (b,) or (b, k)
    CatalogEntry("tm.mean_squared_error", "MeanSquaredError", "regression", False,
                 "Mean squared error (root of it with squared=False)", ("tm.mse",)),
    CatalogEntry("tm.mean_absolute_error", "MeanAbsoluteError", "regression", False,
                 "Mean absolute error", ("tm.mae",)),
    CatalogEntry("tm.r2_score", "R2Score", "regression", True,
                 "Coefficient of determination R² (adjusted with adjusted=n_regressors)",
                 ("tm.r2",)),
    CatalogEntry("tm.explained_variance", "ExplainedVariance", "regression", True,
                 "Explained variance 1 - Var(y - ŷ) / Var(y)"),
    CatalogEntry("tm.pearson_corr_coef", "PearsonCorrCoef", "regression", True,
                 "Pearson correlation of predictions and targets"),
    CatalogEntry("tm.spearman_corr_coef", "SpearmanCorrCoef", "regression", True,
                 "Spearman rank correlation of predictions and targets"),
    CatalogEntry("tm.kendall_rank_corr_coef", "KendallRankCorrCoef", "regression", True,
                 "Kendall's tau rank correlation of predictions and targets"),
    CatalogEntry("tm.concordance_corr_coef", "ConcordanceCorrCoef", "regression", True,
                 "Lin's concordance correlation coefficient"),
    CatalogEntry("tm.mean_absolute_percentage_error", "MeanAbsolutePercentageError",
                 "regression", False, "Mean absolute percentage error", ("tm.mape",)),
    CatalogEntry("tm.symmetric_mean_absolute_percentage_error",
                 "SymmetricMeanAbsolutePercentageError", "regression", False,
                 "Symmetric mean absolute percentage error", ("tm.smape",)),
    CatalogEntry("tm.weighted_mean_absolute_percentage_error",
                 "WeightedMeanAbsolutePercentageError", "regression", False,
                 "Weighted mean absolute percentage error, sum |y - ŷ| / sum |y|",
                 ("tm.wmape",)),
    CatalogEntry("tm.mean_squared_log_error", "MeanSquaredLogError", "regression", False,
                 "Mean squared logarithmic error", ("tm.msle",)),
    CatalogEntry("tm.log_cosh_error", "LogCoshError", "regression", False,
                 "Mean log-cosh error, a smooth absolute error"),
    CatalogEntry("tm.relative_squared_error", "RelativeSquaredError", "regression", False,
                 "Relative squared error, SSE over the targets' total sum of squares"),
    CatalogEntry("tm.minkowski_distance", "MinkowskiDistance", "regression", False,
                 "Minkowski distance (sum |y - ŷ|^p)^(1/p); needs p"),
    CatalogEntry("tm.tweedie_deviance_score", "TweedieDevianceScore", "regression", False,
                 "Mean Tweedie deviance (power 0: MSE, 1: Poisson, 2: gamma)"),
)  # fmt: skip
