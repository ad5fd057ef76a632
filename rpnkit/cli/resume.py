"""``rpnkit train CONFIG --resume PATH``: which checkpoint a path names, and where the run goes on.

``PATH`` is a run's output directory (its checkpoint is ``PATH/checkpoints/last.pt``), a
checkpoint directory (``PATH/last.pt``) or a checkpoint file. The run goes on in the output
directory the checkpoint belongs to (``RUN`` for ``RUN/checkpoints/last.pt``) unless
``--output`` names another, and that directory may hold the run's files already.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rpnkit.errors import ConfigError

if TYPE_CHECKING:
    from rpnkit.run.config import RunConfig

__all__ = ["Resume", "find_resume"]


@dataclass(frozen=True)
class Resume:
    """The checkpoint ``--resume`` names, and the run directory it belongs to (if any)."""

    checkpoint: Path
    run_dir: Path | None

    def apply(self, config: RunConfig, output_given: bool) -> str:
        """Point ``config`` at the checkpoint; return the line saying where training resumes.

        Raises
        ------
        ConfigError
            If the checkpoint is unreadable or not an rpnkit checkpoint, or its run already
            trained every epoch the config asks for.
        """
        from rpnkit.learner.checkpoint import (
            checkpoint_position,
            load_checkpoint,
            refuse_finished,
        )

        state = load_checkpoint(self.checkpoint)
        epoch, batches = checkpoint_position(state)
        n_epochs = config.learner.get("n_epochs", 100)
        if isinstance(n_epochs, int):
            what = f"--resume {str(self.checkpoint)!r}"
            refuse_finished(state, n_epochs, what, "learner.n_epochs")
        config.learner["resume"] = str(self.checkpoint)
        if self.run_dir is not None and not output_given:
            config.output["dir"] = str(self.run_dir)
        out = config.output.get("dir")
        if self.run_dir is not None and out is not None and Path(out).resolve() == self.run_dir:
            config.output["overwrite"] = True  # the run goes on where it was written
        return f"resuming from {self.checkpoint}: epoch {epoch}, batch {batches}"


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
