"""Components: the registry that stores and looks them up, and how a spec names one.

- :mod:`~rpnkit.components.registry`: the :class:`~rpnkit.components.registry.Registry`
  (groups, names, aliases; store and look up, nothing else);
- :mod:`~rpnkit.components.entry`: a group and a registered entry;
- :mod:`~rpnkit.components.spec`: the one parser of a name, an alias, a dotted path, a class,
  an instance or a ``{name, parameters}`` mapping, and the one place components are built;
- :mod:`~rpnkit.components.trust`: what may be imported without the user's opt-in.
"""
