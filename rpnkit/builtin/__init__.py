"""rpnkit's builtin plugins.

Each module here is a plugin registered through the same hooks as any third-party package
(see :data:`rpnkit.plugins.manager.BUILTIN_PLUGINS`).
"""
