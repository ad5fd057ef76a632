"""Collecting every problem of a tinybig config in one pass, each one line naming its key path.

Besides problems (keys with no exact rpnkit equivalent, refused), translating reports two kinds
of one-line messages through :mod:`warnings`, which a library caller sees as Python warnings
and ``rpnkit validate`` / ``rpnkit train`` print as ``warning:`` / ``notice:`` lines:

* :class:`TinybigIgnoredKeyWarning`: a key tinybig never read, ignored as tinybig ignored it
  (``--strict`` makes each one an error);
* :class:`TinybigNotice`: a component whose numbers differ from tinybig 0.2.1's by rpnkit's
  rule (its ``tinybig_divergence``), or a processing step that rpnkit makes a real module.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

from rpnkit.errors import ConfigError, RpnkitError

__all__ = [
    "Problems",
    "TinybigConfigError",
    "TinybigIgnoredKeyWarning",
    "TinybigNotice",
    "ignored",
    "notice",
]

P = ParamSpec("P")
T = TypeVar("T")


class TinybigConfigError(ConfigError):
    """Every problem found in a tinybig config, one line each.

    The message is the single problem, or all of them joined with ``"; "`` after a count, so
    it stays one line; :attr:`problems` keeps them apart (``rpnkit validate`` prints one per
    line).

    Parameters
    ----------
    problems
        One line per problem, each starting with the key path it is about.
    source
        What the config is called in the message (its file name).
    """

    def __init__(self, problems: Sequence[str], source: str = "the tinybig config") -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} problems in {source}: " + "; ".join(self.problems)
        super().__init__(message)


class Problems:
    """A list of problems that translation steps add to instead of stopping at the first."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def attempt(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """Return ``func(*args, **kwargs)``, or record its user errors and return ``None``."""
        try:
            return func(*args, **kwargs)
        except TinybigConfigError as exc:
            self.found.extend(exc.problems)
        except RpnkitError as exc:
            self.found.append(str(exc))
        return None

    def add(self, problem: str) -> None:
        """Record one problem."""
        self.found.append(problem)

    def raise_if_any(self, source: str = "the tinybig config") -> None:
        """Raise a :class:`TinybigConfigError` holding every problem recorded so far."""
        if self.found:
            raise TinybigConfigError(self.found, source)


class TinybigIgnoredKeyWarning(UserWarning):
    """A key of a tinybig config that no tinybig version read: ignored, as tinybig ignored it."""


class TinybigNotice(UserWarning):
    """A component or step of a tinybig config whose numbers differ from tinybig 0.2.1's."""


def ignored(message: str) -> None:
    """Report one ignored key (one line: its key path, that tinybig never applied it, the fix)."""
    warnings.warn(message, TinybigIgnoredKeyWarning, stacklevel=2)


def notice(message: str) -> None:
    """Report one difference from tinybig 0.2.1's numbers (one line)."""
    warnings.warn(message, TinybigNotice, stacklevel=2)
