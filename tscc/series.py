"""Series read block by block: arrays in memory, memory maps and Zarr arrays.

:class:`ChunkedSeries` gives the estimator and the training loops one view of
validated series wherever they live, so that validation, encoding and the
centre steps hold one block at a time, never a full-size copy of the input.
Rows come back as float32 or float64 NumPy arrays of shape ``(rows, T, C)``.
:class:`TensorSeries` has the same interface over a tensor already in memory
(on the CPU or a GPU), so that the training loops and the encoding take
either without asking which; :func:`as_series` makes one of an array.
"""

import hashlib
import mmap

import numpy as np
import torch
from sklearn.utils import assert_all_finite

__all__ = [
    "BLOCK_BYTES",
    "SAMPLE_IN_MEMORY_BYTES",
    "ChunkedSeries",
    "TensorSeries",
    "as_series",
    "as_float_tensor",
    "block_rows",
    "is_lazy_array",
    "scan_series",
]

#: Bytes of series read at once when working block by block. Small blocks
#: keep the peak low and let glibc reuse their memory: blocks of tens of MB
#: left the heap several times larger (the scaling page has the numbers).
BLOCK_BYTES = 4 * 2**20

#: Bytes (as float32) up to which the training sample of a lazy array is read
#: into memory once, in order, instead of a random batch of rows at every
#: step: reading compressed chunks at random costs a chunk per series.
SAMPLE_IN_MEMORY_BYTES = 2**30


def is_lazy_array(X):
    """Whether ``X`` is an array to read block by block rather than at once.

    NumPy memory maps (``np.load(..., mmap_mode="r")``, :class:`numpy.memmap`)
    and chunked arrays on disk or on a cluster (Zarr, HDF5 via h5py, Dask)
    are; in-memory NumPy arrays, lists and DataFrames are not.

    Parameters
    ----------
    X : object

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> from tscc.series import is_lazy_array
    >>> is_lazy_array(np.zeros((2, 3)))
    False
    """
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, np.ndarray):
        return False
    return all(hasattr(X, name) for name in ("shape", "dtype", "ndim", "chunks"))


def block_rows(n_timestamps, n_channels, batch_size, itemsize=4):
    """Rows per block: a multiple of ``batch_size`` of about ``BLOCK_BYTES``.

    A multiple of the batch size, so that encoding block by block forms the
    same batches as encoding everything at once.

    Parameters
    ----------
    n_timestamps, n_channels : int
        Shape of one series.
    batch_size : int
        Series per encoding batch.
    itemsize : int, default=4
        Bytes per value.

    Returns
    -------
    rows : int

    Examples
    --------
    >>> from tscc.series import block_rows
    >>> block_rows(400, 1, 64)
    2560
    """
    row_bytes = max(1, n_timestamps * n_channels * itemsize)
    return batch_size * max(1, BLOCK_BYTES // (row_bytes * batch_size))


class ChunkedSeries:
    """Validated series of shape (n, T, C) read a block of rows at a time.

    Parameters
    ----------
    array : array-like of shape (n, T) or (n, T, C)
        A NumPy array, memory map, Zarr array or any array whose slices and
        sorted integer indexing give NumPy arrays (``np.asarray`` of them).
    dtype : {numpy.float32, numpy.float64}
        Data type of the rows handed out.
    rows : ndarray of int, default=None
        Sorted indices of the rows of ``array`` to take; ``None`` takes all.

    Attributes
    ----------
    shape : tuple of int
        ``(n_rows, n_timestamps, n_channels)``.
    dtype : numpy.dtype
        Data type of the rows handed out.

    Notes
    -----
    Rows read through a memory map would stay mapped in the process (and
    count in its resident memory) until the map is closed; after each read
    the pages are handed back to the page cache with
    ``madvise(MADV_DONTNEED)``, which does not change the data (copy-on-write
    maps, mode ``"c"``, are left alone: that would drop their changes).
    """

    def __init__(self, array, dtype, rows=None):
        self.array = array
        self.dtype = np.dtype(dtype)
        self.rows = None if rows is None else np.asarray(rows, dtype=np.intp)
        n_rows = array.shape[0] if self.rows is None else self.rows.size
        n_channels = array.shape[2] if array.ndim == 3 else 1
        self.shape = (n_rows, array.shape[1], n_channels)
        self._mmap = _releasable_map(array)

    def __len__(self):
        return self.shape[0]

    @property
    def ndim(self):
        """Number of dimensions, always 3."""
        return 3

    @property
    def lazy(self):
        """Whether the rows are read from a memory map or chunked array."""
        return is_lazy_array(self.array)

    def values(self):
        """All rows as one array of shape (n, T, C).

        Returns
        -------
        values : ndarray of shape (n, T, C)
            A view of an in-memory array of ``dtype`` where possible, else
            a copy of every row: for data known to fit in memory.
        """
        if self.lazy or self.rows is not None or self.array.dtype != self.dtype:
            return self.read(0, len(self))
        return self.array.reshape(self.shape)

    def subset(self, rows):
        """The series at sorted positions ``rows`` of this one, read lazily.

        Parameters
        ----------
        rows : ndarray of int or slice
            Sorted positions, or a slice with ``start`` and ``stop`` set and
            no step.

        Returns
        -------
        series : ChunkedSeries
        """
        if isinstance(rows, slice):
            rows = np.arange(rows.start, rows.stop)
        rows = np.asarray(rows, dtype=np.intp)
        if self.rows is not None:
            rows = self.rows[rows]
        return ChunkedSeries(self.array, self.dtype, rows)

    def read(self, start, stop):
        """Rows ``start:stop`` as an array of shape (rows, T, C).

        Parameters
        ----------
        start, stop : int

        Returns
        -------
        block : ndarray of shape (stop - start, T, C)
        """
        if self.rows is None:
            block = self.array[start:stop]
        else:
            block = self._index(self.rows[start:stop])
        return self._finish(block)

    def take(self, indices):
        """Rows at ``indices``, in that order.

        Parameters
        ----------
        indices : ndarray of int
            Positions, in any order, without repeats.

        Returns
        -------
        block : ndarray of shape (len(indices), T, C)
        """
        indices = np.asarray(indices, dtype=np.intp)
        # Memory maps, Zarr and HDF5 read sorted rows chunk by chunk (h5py
        # requires it); the wanted order is restored in memory.
        order = np.argsort(indices, kind="stable")
        wanted = indices[order] if self.rows is None else self.rows[indices[order]]
        block = self._finish(self._index(wanted))
        restored = np.empty_like(block)
        restored[order] = block
        return restored

    def blocks(self, rows_per_block):
        """Iterate over consecutive blocks of rows.

        Parameters
        ----------
        rows_per_block : int

        Yields
        ------
        start : int
            Position of the block's first row.
        block : ndarray of shape (rows, T, C)
        """
        for start in range(0, len(self), rows_per_block):
            yield start, self.read(start, min(start + rows_per_block, len(self)))

    def _index(self, indices):
        if hasattr(self.array, "oindex"):  # Zarr: orthogonal integer selection
            return self.array.oindex[indices]
        return self.array[indices]

    def _finish(self, block):
        block = np.asarray(block)
        if block.ndim == 2:
            block = block[:, :, np.newaxis]
        block = np.array(block, dtype=self.dtype, order="C", copy=True)
        if self._mmap is not None:
            self._mmap.madvise(mmap.MADV_DONTNEED)
        return block


class TensorSeries:
    """Series of shape (n, T, C) in one tensor, with :class:`ChunkedSeries`' interface.

    Parameters
    ----------
    tensor : torch.Tensor of shape (n, T, C)
        The series, on any device; not copied.

    Attributes
    ----------
    shape : tuple of int
        ``(n, T, C)``.

    Examples
    --------
    >>> import torch
    >>> from tscc.series import TensorSeries
    >>> series = TensorSeries(torch.arange(12.0).reshape(4, 3, 1))
    >>> series.take([2, 0])[:, 0, 0].tolist(), len(series.subset(slice(1, 3)))
    ([6.0, 0.0], 2)
    """

    def __init__(self, tensor):
        self.tensor = tensor
        self.shape = tuple(tensor.shape)

    def __len__(self):
        return self.shape[0]

    @property
    def lazy(self):
        """Always False: the rows are in memory."""
        return False

    def subset(self, rows):
        """The series at positions ``rows``: a view for a slice, else a copy.

        Parameters
        ----------
        rows : ndarray of int or slice

        Returns
        -------
        series : TensorSeries
        """
        if not isinstance(rows, slice):
            rows = torch.as_tensor(np.asarray(rows), device=self.tensor.device)
        return TensorSeries(self.tensor[rows])

    def take(self, indices):
        """Rows at ``indices``, in that order.

        Parameters
        ----------
        indices : array-like or torch.Tensor of int

        Returns
        -------
        block : torch.Tensor of shape (len(indices), T, C)
        """
        return self.tensor[torch.as_tensor(indices, device=self.tensor.device)]

    def blocks(self, rows_per_block):
        """Iterate over consecutive blocks of rows (views, not copies).

        Parameters
        ----------
        rows_per_block : int

        Yields
        ------
        start : int
        block : torch.Tensor of shape (rows, T, C)
        """
        for start in range(0, len(self), rows_per_block):
            yield start, self.tensor[start : start + rows_per_block]


def as_series(series):
    """Series with the ``take`` / ``blocks`` / ``subset`` interface.

    Parameters
    ----------
    series : ChunkedSeries, TensorSeries, torch.Tensor or ndarray of shape (n, T, C)
        A tensor is wrapped as it is; an array becomes a float32 tensor.

    Returns
    -------
    series : ChunkedSeries or TensorSeries
    """
    if isinstance(series, ChunkedSeries | TensorSeries):
        return series
    if isinstance(series, np.ndarray):
        series = torch.tensor(series, dtype=torch.float32)
    return TensorSeries(series)


def as_float_tensor(block):
    """A block of rows (array or tensor) as a float32 tensor, shared where possible.

    Parameters
    ----------
    block : ndarray or torch.Tensor

    Returns
    -------
    block : torch.Tensor of float32
    """
    block = torch.as_tensor(block)
    return block if block.dtype == torch.float32 else block.float()


def _releasable_map(array):
    """The mmap under a read-only or shared memory map, else None."""
    if not isinstance(array, np.memmap) or not hasattr(mmap, "MADV_DONTNEED"):
        return None
    if getattr(array, "mode", None) == "c":
        return None
    return getattr(array, "_mmap", None)


def scan_series(series, rows_per_block, *, check_finite=True, fingerprint=False):
    """Check every row of ``series`` block by block; optionally hash them.

    Parameters
    ----------
    series : ChunkedSeries
    rows_per_block : int
    check_finite : bool, default=True
        Whether to reject infinite values (with scikit-learn's message).
    fingerprint : bool, default=False
        Whether to hash the values (as read, in ``series.dtype``).

    Returns
    -------
    empty_rows : ndarray of int
        Rows without any observed value (every value NaN).
    peak : float
        Largest absolute value (NaN ignored).
    digest : str or None
        Hex digest of the shape, dtype and values, when ``fingerprint``.
    """
    hasher = hashlib.blake2b(digest_size=20) if fingerprint else None
    if hasher is not None:
        hasher.update(repr((series.shape, series.dtype.str)).encode())
    empty, peak = [], 0.0
    for start, block in series.blocks(rows_per_block):
        if check_finite:
            assert_all_finite(block, allow_nan=True, input_name="X")
        observed = ~np.isnan(block)
        missing = ~observed.any(axis=(1, 2))
        if missing.any():
            empty.append(start + np.flatnonzero(missing))
        if observed.any():
            peak = max(peak, float(np.nanmax(np.abs(block))))
        if hasher is not None:
            hasher.update(memoryview(block).cast("B"))
    empty_rows = np.concatenate(empty) if empty else np.empty(0, dtype=np.intp)
    return empty_rows, peak, None if hasher is None else hasher.hexdigest()
