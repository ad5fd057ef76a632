"""``rpnkit sweep``: search a config's keys with Optuna, each trial an ordinary run directory.

The package is the command's machinery, one concept per module: :mod:`~rpnkit.sweep.space`
(the search space and its checks against the config and the registry),
:mod:`~rpnkit.sweep.objective` (which history column is optimised, and in which direction),
:mod:`~rpnkit.sweep.study` (Optuna's storage, the sweep's record, stale trials on resume),
:mod:`~rpnkit.sweep.trial` (one trial as a ``python -m rpnkit train`` process, pruned from its
per-epoch history) and :mod:`~rpnkit.sweep.report` (``sweep.csv``, importances, the plot).
Nothing here imports optuna at module level except :mod:`~rpnkit.sweep.study`, which only the
``sweep`` command imports.
"""
