"""Seeding every random generator a run draws from, with one rule."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (every CUDA device included).

    NumPy takes seeds below 2**32, so it gets ``seed % 2**32``; Python and torch take the
    seed as it is.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
