"""Example rpnkit plugin package (see :mod:`rpnkit_example.plugin`)."""
