"""``python -m rpnkit`` (also what ``torchrun -m rpnkit`` runs)."""

from rpnkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
