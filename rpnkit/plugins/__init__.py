"""Plugins: the hook specifications, the plugin manager and the process's one registry.

- :mod:`~rpnkit.plugins.hookspecs`: every hook a plugin can implement, and the markers;
- :mod:`~rpnkit.plugins.manager`: pluggy's manager for rpnkit, loading builtins and entry
  points, each isolated;
- :mod:`~rpnkit.plugins.state`: the process's plugin manager and the registry it fills.
"""
