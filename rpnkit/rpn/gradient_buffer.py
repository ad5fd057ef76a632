"""Reused storage for the large weight gradients of the fused RPN kernels, on the CPU.

A training step normally allocates every gradient anew: ``zero_grad()`` sets them to ``None``
and the backward pass returns fresh tensors. For a large weight, such as the 150 MiB of
tinybig's MNIST head, the allocator maps fresh memory for it (glibc maps anything above
32 MiB directly and unmaps it when freed), and on Linux the first write to every 4 KiB page
of it takes a page fault: about as long as one of the step's two matrix products.

:func:`gradient_like` lets a kernel's backward write such a gradient into storage kept from
the previous step instead, when that storage is provably free: nothing but this module holds
it (no ``.grad``, no tensor a user kept, no view). Otherwise, and for small weights, other
devices (their caching allocators already reuse memory) and code being compiled, it returns a
fresh tensor, as before. The values written are the same either way; what changes is that
the storage of one gradient per large weight stays allocated between steps, until the weight
itself is freed (or :func:`release_gradient_buffers`). The step's peak memory is unchanged:
that gradient exists at the peak anyway.

Huge pages fix the same cost another way: with ``THP_MEM_ALLOC_ENABLE=1`` (which the ``rpnkit``
command sets for its process, :mod:`rpnkit.cli.huge_pages`) torch backs large CPU tensors with
2 MiB pages, 512 times fewer faults, and reusing storage then saves nothing measurable
(``benchmarks/rpn_head.py``, tinybig's MNIST head: 113 ms with the reuse and 115-136 ms
without under huge pages; 119-128 ms and 169-173 ms with 4 KiB pages). So the storage is
reused only where huge pages are off: a Python program that did not set the variable.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import torch
from torch import Tensor

__all__ = ["HUGE_PAGES", "REUSE_BYTES", "gradient_like", "held_bytes", "release_gradient_buffers"]

#: Gradients of at least this many bytes reuse their storage (glibc's largest mmap threshold).
REUSE_BYTES = 32 * 2**20
#: torch's switch for huge pages in its CPU allocator; ``"1"`` turns the reuse off.
HUGE_PAGES = "THP_MEM_ALLOC_ENABLE"

_lock = threading.RLock()  # re-entrant: a weight freed while it is held calls _forget
#: ``id(parameter)`` -> (a weak reference to it, the storage kept for its gradient).
_held: dict[int, tuple[weakref.ref[Tensor], Tensor]] = {}
_use_count: Any = getattr(torch._C, "_storage_Use_Count", None)


def gradient_like(weight: Tensor) -> Tensor:
    """An uninitialised contiguous tensor shaped like ``weight``, for its gradient.

    Parameters
    ----------
    weight
        The parameter whose gradient the caller is about to write in full, or a view of it
        (the storage is kept for the parameter the view is of).

    Returns
    -------
    Tensor
        A new tensor object. For a large CPU weight, when huge pages are off, its storage may
        be the one kept from the previous call, when nothing else refers to it; the caller must
        overwrite every element.
    """
    fresh = (
        weight.numel() * weight.element_size() < REUSE_BYTES
        or weight.device.type != "cpu"
        or os.environ.get(HUGE_PAGES) == "1"  # huge pages make a fresh gradient cheap
        or _use_count is None
        or _compiling()
    )
    if fresh:
        return torch.empty_like(weight, memory_format=torch.contiguous_format)
    owner = weight if weight._base is None else weight._base  # a view's parameter
    key = id(owner)
    with _lock:
        entry = _held.get(key)
        if entry is not None and entry[0]() is owner:
            kept = entry[1]
            if kept.shape == weight.shape and kept.dtype == weight.dtype and _free(kept):
                return kept.view(kept.shape)  # a new tensor object: autograd can adopt it
            return torch.empty_like(weight, memory_format=torch.contiguous_format)
        kept = torch.empty_like(weight, memory_format=torch.contiguous_format)
        _held[key] = (weakref.ref(owner, lambda _: _forget(key)), kept)
        return kept.view(kept.shape)


def held_bytes() -> int:
    """Bytes of gradient storage kept between steps (for memory accounting)."""
    with _lock:
        return sum(kept.numel() * kept.element_size() for _, kept in _held.values())


def release_gradient_buffers() -> None:
    """Drop every kept gradient storage (a gradient still in use stays with its user)."""
    with _lock:
        _held.clear()


def _free(kept: Tensor) -> bool:
    # 2 references: ``kept`` itself and the storage object this call creates to ask.
    return bool(_use_count(kept.untyped_storage()._cdata) <= 2)


def _forget(key: int) -> None:
    with _lock:
        entry = _held.get(key)
        if entry is not None and entry[0]() is None:
            del _held[key]


def _compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and compiler.is_compiling())
