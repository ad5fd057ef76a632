"""``rpnkit train --resume RUN``: which checkpoint a path names, what ran, where the run goes on.

``RUN`` is a run's output directory (its checkpoint is ``RUN/checkpoints/last.pt``), a
checkpoint directory (``RUN/last.pt``) or a checkpoint file. The run goes on in the output
directory the checkpoint belongs to (``RUN`` for ``RUN/checkpoints/last.pt``) unless
``--output`` names another, and that directory may hold the run's files already.

The run's own ``config.yaml`` (the effective config, written before it trained) is what
resumes: no CONFIG is needed. A CONFIG or ``--set`` given as well must agree with it in
everything that changes what is trained (:func:`differing_keys`); the one change allowed is
``learner.n_epochs``, to extend the run, and only when no scheduler's horizon depends on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpnkit.errors import ConfigError

if TYPE_CHECKING:
    from rpnkit.run.config import RunConfig

__all__ = ["Resume", "differing_keys", "find_resume"]

#: Config keys that do not change what is trained: where and how the run is written and shown,
#: the device and threads it computes with.
_FREE_KEYS = ("device", "threads", "strategy", "output.", "learner.verbose", "learner.resume")
#: Schedulers whose horizon is a number of epochs or steps fixed when the run started.
_HORIZONS = {"cosine": "T_max", "one_cycle": "total_steps", "linear": "total_iters",
             "polynomial": "total_iters", "constant": "total_iters"}  # fmt: skip


@dataclass(frozen=True)
class Resume:
    """The checkpoint ``--resume`` names, and the run directory it belongs to (if any)."""

    checkpoint: Path
    run_dir: Path | None

    @property
    def saved_config(self) -> Path | None:
        """The run's ``config.yaml``, if it has one."""
        if self.run_dir is None or not (self.run_dir / "config.yaml").is_file():
            return None
        return self.run_dir / "config.yaml"

    @property
    def finished(self) -> bool:
        """Whether the run trained to its end (a ``history.json`` not marked partial)."""
        import json

        if self.run_dir is None or not (self.run_dir / "history.json").is_file():
            return False
        try:
            summary = json.loads((self.run_dir / "history.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(summary, dict) and not summary.get("partial", False)

    def check_same(self, saved: RunConfig, config: RunConfig) -> None:
        """Refuse ``config`` if it would train something else than the run's ``saved`` config.

        Raises
        ------
        ConfigError
            Naming every differing key, or for an extension (``learner.n_epochs``) that a
            scheduler's fixed horizon would make wrong.
        """
        where = f"--resume {str(self.run_dir)!r}"
        keys = differing_keys(saved.to_dict(), config.to_dict())
        if keys:
            shown = ", ".join(keys[:8]) + (f" (and {len(keys) - 8} more)" if len(keys) > 8 else "")
            raise ConfigError(
                f"{where}: the run was trained with other settings of {shown}; resume it as it "
                f"ran with `rpnkit train --resume {self.run_dir}` (only --set learner.n_epochs=N "
                "may change), or start a new run with --output"
            )
        before, after = saved.learner.get("n_epochs"), config.learner.get("n_epochs")
        spec = saved.lr_scheduler
        if before != after and spec is not None and spec["name"] in _HORIZONS:
            key = _HORIZONS[spec["name"]]
            horizon = spec["parameters"].get(key, "auto")
            raise ConfigError(
                f"{where}: --set learner.n_epochs={after} would extend a run whose "
                f"lr_scheduler {spec['name']!r} ({key}={horizon}) was laid out for "
                f"{before} epochs; its learning rate would not follow the longer run, so "
                f"start a new run with learner.n_epochs={after} instead"
            )

    def apply(self, config: RunConfig, output_given: bool) -> str:
        """Point ``config`` at the checkpoint; return the line saying where training resumes.

        Raises
        ------
        ConfigError
            If the checkpoint is unreadable or not an rpnkit checkpoint, or its run already
            trained every epoch the config asks for.
        """
        from rpnkit.learner.checkpoint import checkpoint_position, load_checkpoint

        state = load_checkpoint(self.checkpoint)
        epoch, batches = checkpoint_position(state)
        n_epochs = config.learner.get("n_epochs", 100)
        if isinstance(n_epochs, int):
            what = f"--resume {str(self.run_dir or self.checkpoint)!r}"
            if epoch >= n_epochs and not self.finished:
                raise ConfigError(
                    f"{what}: the run has trained {epoch} epoch(s) and learner.n_epochs is "
                    f"{n_epochs}; give a larger --set learner.n_epochs=N to go on"
                )
            if epoch >= n_epochs:
                raise ConfigError(
                    f"{what}: that run already finished its {epoch} epoch(s); to train "
                    f"further, extend it: `rpnkit train --resume {self.run_dir or self.checkpoint} "
                    f"--set learner.n_epochs=N` with N > {epoch}"
                )
        config.learner["resume"] = str(self.checkpoint)
        if self.run_dir is not None and not output_given:
            config.output["dir"] = str(self.run_dir)
        out = config.output.get("dir")
        if self.run_dir is not None and out is not None and Path(out).resolve() == self.run_dir:
            config.output["overwrite"] = True  # the run goes on where it was written
        return f"resuming from {self.checkpoint}: epoch {epoch}, batch {batches}"


def differing_keys(saved: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    """The dotted keys whose values differ between two configs, in file form.

    Keys that do not change what is trained (``output.*``, ``device``, ``threads``, ...) and
    ``learner.n_epochs`` (the one allowed extension) are left out; a model size ``auto`` in
    ``given`` matches the number the run resolved it to.
    """
    a, b = dict(_flatten(saved)), dict(_flatten(given))
    found = []
    for key in sorted(set(a) | set(b)):
        if key.startswith(_FREE_KEYS) or key == "learner.n_epochs":
            continue
        left, right = a.get(key), b.get(key)
        if left == right or (right == "auto" and isinstance(left, int)):
            continue
        found.append(key)
    return found


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}{key}.")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _flatten(item, f"{prefix}{i}.")
    else:
        yield prefix.rstrip("."), value


def find_resume(path: str) -> Resume:
    """The checkpoint ``--resume path`` names (see the module docstring).

    Raises
    ------
    ConfigError
        If ``path`` does not exist or holds no checkpoint.
    """
    given = Path(path)
    if given.is_file():
        file = given
    elif (given / "checkpoints" / "last.pt").is_file():
        file = given / "checkpoints" / "last.pt"
    elif (given / "last.pt").is_file():
        file = given / "last.pt"
    elif given.exists():
        raise ConfigError(
            f"--resume {path!r} holds no checkpoint (neither checkpoints/last.pt nor last.pt); "
            "give a run's output directory, its checkpoints/ directory or a checkpoint file"
        )
    else:
        raise ConfigError(f"--resume {path!r} does not exist; give a run's output directory")
    file = file.resolve()
    run_dir = file.parent.parent if file.parent.name == "checkpoints" else None
    return Resume(file, run_dir)
