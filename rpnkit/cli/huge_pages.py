"""Transparent huge pages for the large CPU tensors of rpnkit's own processes.

Large CPU tensors are mapped fresh from the operating system, and on Linux the first write
to every 4 KiB page of one takes a page fault. For a training step that allocates large
tensors (a wide model's activations and gradients, the expansions of a materialising RPN
head) these faults can cost as much as the arithmetic: rpnkit's step of tinybig's MNIST head
takes 169-173 ms with 4 KiB pages and fresh gradients, 115-136 ms with huge pages
(``benchmarks/rpn_head.py``). With huge pages on, the fused RPN kernels do not keep their
gradients' storage between steps, their own fix for the same cost when huge pages are off
(:mod:`rpnkit.rpn.gradient_buffer`).
PyTorch backs CPU allocations of 2 MiB and more with transparent huge pages, 512 times fewer
faults, when the environment variable ``THP_MEM_ALLOC_ENABLE`` is ``1``; it reads the
variable once, at its first large allocation.

The ``rpnkit`` command sets it for its own process (and so for the worker processes it
launches) before torch is imported, unless the variable is already set: ``THP_MEM_ALLOC_ENABLE=0``
keeps torch's default. The numbers computed are the same either way; only the memory's page
size differs. A Python program using rpnkit as a library sets the variable itself, before its
first large tensor (see ``docs/performance.md``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

__all__ = ["VARIABLE", "prefer_huge_pages"]

#: PyTorch's switch for huge pages in its CPU allocator.
VARIABLE = "THP_MEM_ALLOC_ENABLE"


def prefer_huge_pages(environ: MutableMapping[str, str] | None = None) -> bool:
    """Set ``THP_MEM_ALLOC_ENABLE=1`` unless it is set already or torch is already imported.

    Parameters
    ----------
    environ
        The environment to change (default: :data:`os.environ`).

    Returns
    -------
    bool
        Whether the variable was set. It is left alone when the user chose a value, and when
        torch is already imported (rpnkit's commands called from a Python program that uses
        torch), since a setting made after torch's first large allocation would not apply.
    """
    environ = os.environ if environ is None else environ
    if VARIABLE in environ or "torch" in sys.modules:
        return False
    environ[VARIABLE] = "1"
    return True
