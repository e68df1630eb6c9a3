"""The C heap (glibc malloc) under training and encoding, for users who opt in.

tscc changes no allocator setting of its own accord: the heap is the whole
process's, and glibc cannot report or restore its settings once they are
changed. What glibc does by default costs speed, though: every training step
and encoding batch allocates and frees tensors of megabytes, glibc hands large
freed blocks back to the operating system (``munmap``, or trimming the top of
the heap), and the next batch faults the same pages in again. A program that
spends its time in tscc can opt in to keeping that memory, for the rest of the
process, with :func:`keep_freed_memory` (or the equivalent environment
variables before it starts, see the speed page of the documentation).
:func:`release_free_memory` hands free heap memory back: ``fit`` calls it once
as it returns, as the memory training freed is many times the model's; it
changes no setting, and inference never calls it.
"""

import ctypes
import ctypes.util
import os
import warnings
from functools import cache

__all__ = ["keep_freed_memory", "release_free_memory", "user_malloc_settings"]

# mallopt parameters, from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to 1 GiB come from the heap, and up to 2 GiB of free memory may
# stay at its top: every tensor of a batch, many batches over.
_KEEP_MMAP_THRESHOLD = 2**30
_KEEP_TRIM_THRESHOLD = 2**31 - 1
# glibc reads these at start-up; a user who set one has chosen the heap's
# behaviour, and tscc does not override it.
_MALLOC_VARIABLES = (
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
    "MALLOC_ARENA_MAX",
)
_OTHER_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")


@cache
def _glibc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
    except (OSError, TypeError):  # no C library to load by that name
        return None
    glibc = hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")
    return libc if glibc else None


def user_malloc_settings(environ=None):
    """The allocator settings the user chose for this process, if any.

    Parameters
    ----------
    environ : mapping, default=None
        Environment to read; ``None`` reads ``os.environ``.

    Returns
    -------
    settings : list of str
        ``MALLOC_*`` variables that are set, ``GLIBC_TUNABLES`` when it holds
        ``glibc.malloc`` tunables, and ``LD_PRELOAD`` when it loads another
        allocator (jemalloc, tcmalloc, mimalloc). Empty when glibc runs with
        its defaults.

    Examples
    --------
    >>> from tscc.heap import user_malloc_settings
    >>> user_malloc_settings({"MALLOC_TRIM_THRESHOLD_": "65536"})
    ['MALLOC_TRIM_THRESHOLD_']
    >>> user_malloc_settings({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})
    ['GLIBC_TUNABLES']
    >>> user_malloc_settings({})
    []
    """
    environ = os.environ if environ is None else environ
    chosen = [name for name in _MALLOC_VARIABLES if name in environ]
    if "glibc.malloc." in environ.get("GLIBC_TUNABLES", ""):
        chosen.append("GLIBC_TUNABLES")
    preload = environ.get("LD_PRELOAD", "")
    if any(name in preload for name in _OTHER_ALLOCATORS):
        chosen.append("LD_PRELOAD")
    return chosen


def keep_freed_memory():
    """Opt in to keeping freed memory in the heap, for the rest of the process.

    glibc then serves blocks up to 1 GiB from its heap and keeps up to 2 GiB
    of free memory there for the next allocation, instead of handing it back
    to the operating system and faulting it in again: ``transform`` in a fresh
    process and training epochs run faster (see the speed page of the
    documentation), and the process holds on to the memory it has freed,
    until :func:`release_free_memory` or its end.

    This is a process-wide setting that lasts: glibc cannot restore its
    adaptive defaults once they are changed. Call it yourself, in a program
    that spends its time in tscc; tscc never calls it. The same setting at
    start-up: ``MALLOC_MMAP_THRESHOLD_=1073741824
    MALLOC_TRIM_THRESHOLD_=2147483647``.

    Returns
    -------
    applied : bool
        True if the setting was made. False, with a warning, where the user
        already chose the allocator's settings (:func:`user_malloc_settings`),
        and False without glibc.

    Examples
    --------
    >>> from tscc.heap import keep_freed_memory
    >>> keep_freed_memory()  # doctest: +SKIP
    True
    """
    chosen = user_malloc_settings()
    if chosen:
        warnings.warn(
            f"keep_freed_memory() left the allocator as it is: {', '.join(chosen)} "
            "already chose its settings.",
            UserWarning,
            stacklevel=2,
        )
        return False
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_MMAP_THRESHOLD)
    libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_TRIM_THRESHOLD)
    return True


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
