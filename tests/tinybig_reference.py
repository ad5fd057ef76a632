"""Import tinybig 0.2.1, the reference implementation, for tests that compare numbers with it.

tinybig is installed without its pinned dependencies (``pip install --no-deps
tinybig==0.2.1``, done by the README's test command). Its package ``__init__`` imports
torchvision, torchtext and its own data loaders (one of which needs Python 3.12 syntax); none
of them is needed to compute an expansion, a reconciliation or a head, so they are replaced by
empty stand-in modules before the import. Tests get tinybig through the ``tinybig`` fixture
(``tests/conftest.py``), which skips when tinybig is not installed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

__all__ = ["import_tinybig"]

#: Top-level packages tinybig imports that the reference tests never use.
_STUBBED_ROOTS = ("torchvision", "torchtext", "torchdata", "portalocker", "requests")
#: tinybig's own modules that are replaced (dataset loaders, partly Python 3.12 syntax).
_STUBBED_TINYBIG = "tinybig.data"


class _StandIn(types.ModuleType):
    """A module whose every public attribute is an inert class."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {"__init__": lambda self, *a, **k: None})


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves :class:`_StandIn` modules for the stubbed names, and only for them."""

    @staticmethod
    def _stubbed(fullname: str) -> bool:
        return fullname.split(".")[0] in _STUBBED_ROOTS or (
            fullname == _STUBBED_TINYBIG or fullname.startswith(_STUBBED_TINYBIG + ".")
        )

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not self._stubbed(fullname):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StandIn(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module is a stand-in."""


def import_tinybig() -> types.ModuleType | None:
    """Return the imported ``tinybig`` package, or ``None`` when it is not installed.

    The stand-in finder is installed only for this import and removed afterwards, so other
    imports of torchvision (a test that needs the real one) are not affected.
    """
    if "tinybig" in sys.modules:
        return sys.modules["tinybig"]
    if importlib.util.find_spec("tinybig") is None:
        return None
    finder = _StandInFinder()
    sys.meta_path.insert(0, finder)
    try:
        module = importlib.import_module("tinybig")
        for sub in ("expansion", "reconciliation", "remainder", "fusion", "head", "layer",
                    "model", "module", "config"):  # fmt: skip
            importlib.import_module(f"tinybig.{sub}")
    finally:
        sys.meta_path.remove(finder)
    return module
