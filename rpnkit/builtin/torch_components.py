"""Builtin plugin: torch's losses, optimizers and lr schedulers, without importing torch.

Names and targets are plain strings, so ``rpnkit list`` stays fast; torch is imported only
when a component is built or shown. A test compares these tables with the installed torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.components.registry import Registry

# (canonical name, class name in torch.nn, aliases, summary)
LOSSES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("adaptive_log_softmax", "AdaptiveLogSoftmaxWithLoss", (),
     "Adaptive softmax for very many classes, returning output and loss"),
    ("bce", "BCELoss", ("binary_cross_entropy",), "Binary cross entropy on probabilities"),
    ("bce_with_logits", "BCEWithLogitsLoss", ("binary_cross_entropy_with_logits",),
     "Sigmoid plus binary cross entropy, numerically stable"),
    ("ctc", "CTCLoss", (), "Connectionist temporal classification loss for unaligned sequences"),
    ("cosine_embedding", "CosineEmbeddingLoss", (),
     "Pulls pairs together or apart by cosine similarity"),
    ("cross_entropy", "CrossEntropyLoss", ("ce",),
     "Softmax cross entropy between logits and class indices or probabilities"),
    ("gaussian_nll", "GaussianNLLLoss", (), "Negative log-likelihood of a Gaussian with predicted variance"),
    ("hinge_embedding", "HingeEmbeddingLoss", (), "Hinge loss on distances for similar/dissimilar pairs"),
    ("huber", "HuberLoss", (), "Quadratic near zero, linear beyond delta"),
    ("kl_div", "KLDivLoss", ("kl_divergence",), "Kullback-Leibler divergence from log-probabilities"),
    ("l1", "L1Loss", ("mae", "mean_absolute_error"), "Mean absolute error"),
    ("linear_cross_entropy", "LinearCrossEntropyLoss", (),
     "Final linear projection fused with cross entropy"),
    ("mse", "MSELoss", ("l2", "mean_squared_error"), "Mean squared error"),
    ("margin_ranking", "MarginRankingLoss", (), "Ranking loss on pairs of scores with a margin"),
    ("multi_label_margin", "MultiLabelMarginLoss", (), "Multi-class multi-label hinge loss"),
    ("multi_label_soft_margin", "MultiLabelSoftMarginLoss", (),
     "One-versus-all multi-label loss on logits"),
    ("multi_margin", "MultiMarginLoss", (), "Multi-class hinge (SVM-style) loss"),
    ("nll", "NLLLoss", ("negative_log_likelihood",), "Negative log-likelihood on log-probabilities"),
    ("poisson_nll", "PoissonNLLLoss", (), "Negative log-likelihood of a Poisson target"),
    ("smooth_l1", "SmoothL1Loss", (), "L1 loss with a quadratic region below beta"),
    ("soft_margin", "SoftMarginLoss", (), "Two-class logistic loss on +1/-1 targets"),
    ("triplet_margin", "TripletMarginLoss", (), "Triplet loss on anchor, positive and negative"),
    ("triplet_margin_with_distance", "TripletMarginWithDistanceLoss", (),
     "Triplet loss with a custom distance function"),
)  # fmt: skip

# (canonical name, class name in torch.optim, aliases, summary)
OPTIMIZERS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("adadelta", "Adadelta", (), "Adadelta: per-parameter rates from running gradient/update scales"),
    ("adafactor", "Adafactor", (), "Adafactor: factored second moments, low memory"),
    ("adagrad", "Adagrad", (), "Adagrad: rates scaled by accumulated squared gradients"),
    ("adam", "Adam", (), "Adam: adaptive moment estimation"),
    ("adamax", "Adamax", (), "Adamax: Adam with the infinity norm"),
    ("adamw", "AdamW", ("adam_w",), "AdamW: Adam with decoupled weight decay"),
    ("asgd", "ASGD", ("averaged_sgd",), "Averaged stochastic gradient descent"),
    ("lbfgs", "LBFGS", ("l_bfgs",), "Limited-memory BFGS (needs a closure)"),
    ("muon", "Muon", (), "Muon: momentum orthogonalised by Newton-Schulz, for 2-D weights"),
    ("nadam", "NAdam", (), "Adam with Nesterov momentum"),
    ("radam", "RAdam", (), "Rectified Adam"),
    ("rmsprop", "RMSprop", ("rms_prop",), "RMSprop: rates scaled by a running mean of squared gradients"),
    ("rprop", "Rprop", (), "Resilient backpropagation, sign-based steps"),
    ("sgd", "SGD", (), "Stochastic gradient descent, optional momentum and Nesterov"),
    ("sparse_adam", "SparseAdam", (), "Adam for sparse gradients (e.g. embeddings)"),
)  # fmt: skip

# (canonical name, class name in torch.optim.lr_scheduler, aliases, summary)
LR_SCHEDULERS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("chained_scheduler", "ChainedScheduler", ("chained",), "Applies several schedulers at every step"),
    ("constant_lr", "ConstantLR", ("constant",), "Scales the rate by a constant factor for a while"),
    ("cosine_annealing_lr", "CosineAnnealingLR", ("cosine", "cosine_annealing"),
     "Cosine annealing from the initial rate to eta_min over T_max steps"),
    ("cosine_annealing_warm_restarts", "CosineAnnealingWarmRestarts", ("cosine_warm_restarts", "sgdr"),
     "Cosine annealing with periodic warm restarts"),
    ("cyclic_lr", "CyclicLR", ("cyclic",), "Cycles the rate between two bounds"),
    ("exponential_lr", "ExponentialLR", ("exponential",), "Multiplies the rate by gamma every step"),
    ("lambda_lr", "LambdaLR", ("lambda",), "Rate = initial rate times a user function of the step"),
    ("linear_lr", "LinearLR", ("linear", "warmup"), "Linear ramp of the rate factor (warm-up)"),
    ("multi_step_lr", "MultiStepLR", ("multistep", "multi_step"), "Decays the rate by gamma at milestones"),
    ("multiplicative_lr", "MultiplicativeLR", ("multiplicative",),
     "Multiplies the rate by a user function of the step"),
    ("one_cycle_lr", "OneCycleLR", ("one_cycle", "onecycle"), "The 1cycle policy; steps per batch"),
    ("polynomial_lr", "PolynomialLR", ("polynomial",), "Polynomial decay to zero over total_iters"),
    ("reduce_lr_on_plateau", "ReduceLROnPlateau", ("plateau", "reduce_on_plateau"),
     "Decays the rate when a monitored value stops improving"),
    ("sequential_lr", "SequentialLR", ("sequential",), "Runs schedulers one after another at milestones"),
    ("step_lr", "StepLR", ("step",), "Decays the rate by gamma every step_size epochs"),
)  # fmt: skip

GROUPS: tuple[tuple[str, str], ...] = (
    ("loss", "Loss functions (torch.nn.Module criteria)"),
    ("optimizer", "Optimizers, built from a model's parameters"),
    ("lr_scheduler", "Learning-rate schedulers, built from an optimizer"),
)
#: What a dotted path in each group may name besides registered entries (see rpnkit.components.trust).
KINDS: dict[str, tuple[str, ...]] = {
    "loss": ("torch.nn:Module",),
    "optimizer": ("torch.optim:Optimizer",),
    "lr_scheduler": (
        "torch.optim.lr_scheduler:LRScheduler",
        "torch.optim.lr_scheduler:ReduceLROnPlateau",
    ),
}


def _snake(class_name: str) -> str:
    out = []
    for i, ch in enumerate(class_name):
        prev = class_name[i - 1] if i else ""
        nxt = class_name[i + 1] if i + 1 < len(class_name) else ""
        if ch.isupper() and i and (prev.islower() or prev.isdigit() or nxt.islower()):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _register_table(
    registry: Registry,
    group: str,
    module: str,
    table: tuple[tuple[str, str, tuple[str, ...], str], ...],
) -> None:
    for name, class_name, aliases, summary in table:
        registry.register(
            group,
            name,
            f"{module}:{class_name}",
            summary=summary,
            aliases=(*aliases, class_name.lower(), _snake(class_name)),
        )


@hookimpl(tryfirst=True)
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the training-component groups."""
    for name, summary in GROUPS:
        registry.add_group(name, summary, kinds=KINDS[name])


@hookimpl(tryfirst=True)
def rpnkit_add_components(registry: Registry) -> None:
    """Register torch's losses, optimizers and lr schedulers by name."""
    _register_table(registry, "loss", "torch.nn", LOSSES)
    _register_table(registry, "optimizer", "torch.optim", OPTIMIZERS)
    _register_table(registry, "lr_scheduler", "torch.optim.lr_scheduler", LR_SCHEDULERS)
