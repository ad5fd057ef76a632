"""Hook specifications of rpnkit, and the pluggy markers plugins use.

A plugin is any module or object with functions marked ``@rpnkit.hookimpl`` whose names are
hooks specified here. Third-party packages expose one through the ``rpnkit`` entry-point
group; rpnkit's builtins (:mod:`rpnkit.builtin`) are registered the same way.

Every hook is called with keyword arguments only.

Examples
--------
A plugin module adding a loss::

    from rpnkit import hookimpl

    @hookimpl
    def rpnkit_add_components(registry):
        registry.register("loss", "focal", "my_pkg.losses:FocalLoss", summary="Focal loss")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from torch import Tensor

    from rpnkit.components.registry import Registry
    from rpnkit.learner.context import TrainContext

PROJECT_NAME = "rpnkit"

#: Marker for hook specifications (used by rpnkit itself).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Marker for hook implementations (used by plugins).
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare component groups with ``registry.add_group(name, summary)``.

    Called for every plugin before any ``rpnkit_add_components``, so a plugin may register
    components in a group another plugin declares.

    Parameters
    ----------
    registry
        The registry being filled.
    """


@hookspec
def rpnkit_add_components(registry: Registry) -> None:
    """Register components with ``registry.register(group, name, target, ...)``.

    Parameters
    ----------
    registry
        The registry being filled.
    """


@hookspec
def rpnkit_train_start(context: TrainContext) -> None:
    """Called once when :meth:`rpnkit.learner.BackwardLearner.train` starts.

    Parameters
    ----------
    context
        The :class:`~rpnkit.learner.context.TrainContext` of the run (model, optimizer,
        record, history, ...).
    """


@hookspec
def rpnkit_epoch_start(context: TrainContext) -> None:
    """Called before every epoch's first batch; ``context.epoch`` is the epoch starting.

    Parameters
    ----------
    context
        The :class:`~rpnkit.learner.context.TrainContext` of the run.
    """


@hookspec
def rpnkit_progress(context: TrainContext, step: int, loss: float, lr: float) -> None:
    """Called at the progress refresh points of an epoch, with the running numbers.

    Refresh points come every ``progress_every`` steps, whenever half a second
    (:data:`rpnkit.learner.progress.REFRESH_SECONDS`) passed since the previous one, and at
    the epoch's last step; the learner reads the loss from the device only there (and only
    when some plugin implements this hook), so listening costs no per-batch host sync.

    Parameters
    ----------
    context
        The :class:`~rpnkit.learner.context.TrainContext` of the run.
    step
        Steps finished in this epoch.
    loss
        The running training loss: the mean of the last ``progress_every`` steps' losses
        (fewer at the start of an epoch).
    lr
        The current learning rate (first parameter group).
    """


@hookspec
def rpnkit_batch_end(
    context: TrainContext, batch: int, loss: Tensor, outputs: Tensor, labels: Tensor
) -> None:
    """Called after every training batch, only when some plugin of the run implements it.

    The loss, outputs and labels are handed over as they are on the device: reading one
    (``float(loss)``, ``.item()``, ``.tolist()``) waits for the accelerator, so a listener
    that reads should do it only on the steps it needs (as per-step logging does, every
    ``log_every_n_steps``). A run where nothing implements this hook never calls it.

    Parameters
    ----------
    context
        The :class:`~rpnkit.learner.context.TrainContext` of the run; ``context.step`` counts
        the steps so far, this one included.
    batch
        The batch's 0-based index in the epoch.
    loss
        The batch's mean loss (detached, 0-dim, on the device).
    outputs
        The model's outputs for the batch's rows (detached).
    labels
        The batch's labels.
    """


@hookspec
def rpnkit_epoch_end(context: TrainContext) -> None:
    """Called after every epoch, once its history row is complete.

    Set ``context.should_stop = True`` to end training after this epoch.

    Parameters
    ----------
    context
        The :class:`~rpnkit.learner.context.TrainContext` of the run.
    """


@hookspec
def rpnkit_train_end(context: TrainContext) -> None:
    """Called once when training ends (normally or by an early stop).

    Parameters
    ----------
    context
        The :class:`~rpnkit.learner.context.TrainContext` of the run.
    """
