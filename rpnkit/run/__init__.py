"""A run: a config file read and checked, its components built, trained, and its directory.

- :mod:`~rpnkit.run.configfile`: reading YAML and applying ``--set``;
- :mod:`~rpnkit.run.config`: the checked config of a run;
- :mod:`~rpnkit.run.runner`: config → components → learner → outputs;
- :mod:`~rpnkit.run.outputs`: what a run directory holds and how it is written.
"""
