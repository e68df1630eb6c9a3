"""How the C heap treats the memory that training and encoding free (glibc).

Every training step allocates activations of a new size (the crops have random
lengths) and every encoding batch allocates and frees the same few tensors of
megabytes. glibc hands large freed blocks straight back to the operating
system (``munmap``, or trimming the top of the heap), so the next batch faults
the same pages in again: in a fresh process, ``transform`` of 1024 series of
500 samples (bfloat16, 2 cores) took 3.3 million page faults and ran at about
640 series/s, against 0.2 million faults and about 1,280 series/s with the
freed memory kept. Keeping it
while tscc works and trimming the heap once at the end gives the speed without
leaving the memory with the process. Elsewhere than glibc, both helpers do
nothing.
"""

import ctypes
import ctypes.util
import threading
from contextlib import contextmanager
from functools import cache

__all__ = ["keep_freed_memory", "release_free_memory"]

# mallopt parameters, from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# While tscc works: blocks up to 1 GiB come from the heap, and up to 2 GiB of
# free memory may stay at its top.
_WORKING_MMAP_THRESHOLD = 2**30
_WORKING_TRIM_THRESHOLD = 2**31 - 1
# After: the values glibc's own adaptive thresholds settle on in a program
# that frees large arrays (the 32 MiB ceiling of the mmap threshold, and twice
# that for trimming), which setting them by hand switches off.
_RESTING_MMAP_THRESHOLD = 32 * 2**20
_RESTING_TRIM_THRESHOLD = 64 * 2**20

_lock = threading.Lock()
_depth = 0


@cache
def _glibc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
    except (OSError, TypeError):  # no C library to load by that name
        return None
    glibc = hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")
    return libc if glibc else None


def release_free_memory():
    """Hand free heap memory back to the operating system (``malloc_trim``).

    Returns
    -------
    released : bool
        True if memory could be handed back (glibc), False elsewhere.

    Examples
    --------
    >>> from tscc.heap import release_free_memory
    >>> isinstance(release_free_memory(), bool)
    True
    """
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def _set_thresholds(mmap_threshold, trim_threshold):
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
        libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)


@contextmanager
def keep_freed_memory():
    """Keep freed memory in the heap inside the block, trim it at the end.

    Inside the outermost such block, glibc serves large allocations from the
    heap and keeps what is freed there for the next allocation, instead of
    returning it to the system and faulting it in again. On leaving that block
    the free memory is handed back (:func:`release_free_memory`). Nested and
    concurrent blocks share one setting: the last to leave restores it.

    Yields
    ------
    None

    Examples
    --------
    >>> import numpy as np
    >>> from tscc.heap import keep_freed_memory
    >>> with keep_freed_memory():
    ...     total = sum(float(np.ones(2**20).sum()) for _ in range(3))
    >>> total
    3145728.0
    """
    global _depth
    with _lock:
        _depth += 1
        if _depth == 1:
            _set_thresholds(_WORKING_MMAP_THRESHOLD, _WORKING_TRIM_THRESHOLD)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _set_thresholds(_RESTING_MMAP_THRESHOLD, _RESTING_TRIM_THRESHOLD)
                release_free_memory()
