"""``rpnkit sweep``: search a config's keys with Optuna, each trial an ordinary run directory.

The package is the command's machinery, one concept per module: :mod:`~rpnkit.sweep.space`
(the search space and its checks against the config and the registry),
:mod:`~rpnkit.sweep.objective` (which history column is optimised, and in which direction),
:mod:`~rpnkit.sweep.study` (Optuna's storage, the sweep's record, stale trials on resume),
:mod:`~rpnkit.sweep.trial` (one trial as an ``rpnkit train`` process, pruned from its
per-epoch history), :mod:`~rpnkit.sweep.processes` (how a trial's process is started: the
launcher's interface, a subprocess each), :mod:`~rpnkit.sweep.launcher` and
:mod:`~rpnkit.sweep.helper` (the warm process that forks the trials, both sides),
:mod:`~rpnkit.sweep.calls` (the checks and the result table, run in a child of the launcher)
and :mod:`~rpnkit.sweep.report` (``sweep.csv``, importances, the plot).
Nothing here imports optuna at module level except :mod:`~rpnkit.sweep.study`, which only the
``sweep`` command imports.
"""
