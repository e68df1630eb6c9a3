"""Open any input of series: array files, seismic files and patterns, a windows store.

:func:`open_series` is the one place that tells the kinds of input apart, so
that ``tscc fit``, ``predict`` and ``transform`` (and Python code) take the
same inputs, read and normalised the same way.
"""

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..preprocessing import WaveformNormalizer
from ._cutting import check_option_names
from .arrays import ARRAY_SUFFIXES, load_array
from .paths import expand_paths
from .store import open_windows
from .windows import SEISMIC_SUFFIXES, read_windows

__all__ = ["SeriesInput", "open_series"]

#: The kinds of input :func:`open_series` tells apart.
KINDS = ("array", "seismic", "store")

# What normalize="auto" is for each kind: raw counts of seismic recordings
# would make the clusters follow amplitude; arrays are used as given.
_AUTO_NORMALIZE = {"array": "none", "seismic": "maxabs", "store": "maxabs"}


@dataclass(frozen=True, eq=False)
class SeriesInput:
    """Series opened by :func:`open_series`, with their provenance.

    Attributes
    ----------
    X : ndarray or dask.array.Array of shape (n_series, n_timestamps) or \
            (n_series, n_timestamps, n_channels)
        The series, normalised as ``normalize`` says. A lazy Dask array for a
        windows store (normalised block by block when computed), a NumPy
        array otherwise.
    metadata : dict of str to ndarray
        Per-series provenance, equal-length arrays: ``"source"`` (the file),
        and for seismic input and stores ``"trace_id"`` and ``"starttime"``
        (see :class:`~tscc.io.SeismicWindows`).
    kind : {"array", "seismic", "store"}
        What the input was: array files, seismic recordings, or a windows
        store.
    normalize : {"none", "maxabs", "zscore"}
        The normalisation applied (``"auto"`` resolved).
    """

    X: object
    metadata: dict
    kind: str
    normalize: str

    def __len__(self):
        return self.X.shape[0]

    def describe(self):
        """One line about the series, e.g. ``"20 series of 32 timestamps x 1 ..."``.

        Returns
        -------
        text : str
        """
        n_channels = 1 if self.X.ndim == 2 else self.X.shape[2]
        n_sources = np.unique(self.metadata["source"]).size
        return (
            f"{self.X.shape[0]} series of {self.X.shape[1]} timestamps x "
            f"{n_channels} channel(s) from {n_sources} source(s)"
        )


def open_series(inputs, *, normalize="auto", **window_options):
    """Open series from any input tscc reads, normalised for clustering.

    Parameters
    ----------
    inputs : str, path-like or list of them
        One kind of input: ``.npy``, ``.npz`` (the array ``X``) or ``.csv``
        array files (see :func:`~tscc.load_array`), stacked in the order
        given; or seismic files, directories and glob patterns, read with
        ObsPy and cut into windows (see :func:`~tscc.read_windows`); or one
        windows store, a Zarr folder written by :func:`~tscc.io.write_windows`
        (``tscc windows``), opened lazily (see :func:`~tscc.io.open_windows`).
        Paths with another suffix are taken for seismic files when ``window``
        is given.
    normalize : {"auto", "maxabs", "zscore", "none"}, default="auto"
        Demean, detrend and scale each series with
        :class:`~tscc.WaveformNormalizer`. ``"auto"`` is ``"maxabs"`` for
        seismic input and stores, ``"none"`` for arrays.
    **window_options
        The windowing keywords of :func:`~tscc.read_windows` (``window``,
        ``step``, ``channels``, ``bandpass``, ``sampling_rate``, ``gaps``,
        ``format``), for seismic input, which needs ``window``; a store
        already holds its windows, and arrays are series already, so they
        ignore them.

    Returns
    -------
    series : SeriesInput
        ``series.X``, their provenance ``series.metadata``, the ``kind`` of
        input and the ``normalize`` applied.

    Raises
    ------
    FileNotFoundError
        If a path does not exist or a pattern matches no file.
    ImportError
        If ObsPy (seismic input), or Zarr and Dask (a store), is not
        installed.
    TypeError
        If a keyword is not one of read_windows' windowing options.
    ValueError
        If a path has a suffix tscc does not know and no ``window`` is given,
        the inputs mix kinds, a store is given with other inputs, seismic
        input comes without ``window``, array files hold series of different
        shapes, or the files cannot be read.

    See Also
    --------
    tscc.load_array, tscc.read_windows, tscc.io.open_windows : The readers of
        each kind.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from tscc.io import open_series
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> np.save(path, np.zeros((5, 32)))
    >>> series = open_series(path)
    >>> series.kind, series.normalize, series.X.shape
    ('array', 'none', (5, 32))
    >>> series.describe()
    '5 series of 32 timestamps x 1 channel(s) from 1 source(s)'
    """
    check_option_names(window_options, "open_series")
    paths = _input_paths(inputs)
    kind = _input_kind(paths, window_options.get("window"))
    if kind == "store":
        windows = open_windows(paths[0])
        X, metadata = windows.X, windows.metadata()
    elif kind == "array":
        X, metadata = _read_arrays(paths)
    else:
        if window_options.get("window") is None:
            raise ValueError(
                "Seismic input needs --window SECONDS (window= in Python), the "
                "length of the windows to cut."
            )
        windows = read_windows(paths, **window_options)
        X, metadata = windows.X, windows.metadata()
    normalize = _resolve_normalize(normalize, kind)
    return SeriesInput(
        X=_normalized(X, normalize), metadata=metadata, kind=kind, normalize=normalize
    )


def _is_windows_store(path):
    """Whether ``path`` is a Zarr folder, such as a store of ``tscc windows``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    bool
    """
    path = os.fspath(path)
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "zarr.json"))


def _input_paths(inputs):
    paths = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    if not paths:
        raise ValueError("No input given: inputs is an empty list.")
    for path in paths:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(
                "inputs must be a path, glob pattern or directory, or a list of "
                f"them; got {type(path).__name__}."
            )
    return [os.fspath(path) for path in paths]


def _input_kind(paths, window):
    """``"array"``, ``"seismic"`` or ``"store"``: one kind for all ``paths``."""
    stores = [path for path in paths if _is_windows_store(path)]
    if stores:
        if len(paths) > 1:
            raise ValueError(
                f"A windows store is read alone: got {stores[0]} with "
                f"{len(paths) - 1} other input(s)."
            )
        return "store"
    kinds = {_path_kind(path, window) for path in paths}
    if len(kinds) > 1:
        raise ValueError("INPUT mixes array files and seismic files; give one kind.")
    return kinds.pop()


def _path_kind(text, window):
    """``"array"`` or ``"seismic"``; raises for missing files and unknown formats."""
    pattern = glob.has_magic(text)
    # Expanded as read_windows expands it, and before anything else, so that
    # a missing file is said the same way whether ObsPy is installed or not.
    expand_paths(text)
    suffix = Path(text).suffix.lower()
    if suffix in ARRAY_SUFFIXES and not pattern:
        return "array"
    if pattern or os.path.isdir(text) or suffix in SEISMIC_SUFFIXES or window:
        return "seismic"
    raise ValueError(
        f"Unknown input format {suffix or '(no suffix)'!r} of {text}: use "
        f"{', '.join(ARRAY_SUFFIXES)} arrays, seismic files (miniSEED, SAC, "
        "...) with --window SECONDS, or a windows store."
    )


def _read_arrays(paths):
    arrays, sources = [], []
    for path in paths:
        X, _ = load_array(path)
        if arrays and X.shape[1:] != arrays[0].shape[1:]:
            raise ValueError(
                f"Mismatched shapes: {path} holds series of shape {X.shape[1:]}, "
                f"{paths[0]} of shape {arrays[0].shape[1:]}."
            )
        arrays.append(X)
        sources.append(np.full(X.shape[0], path))
    return np.concatenate(arrays), {"source": np.concatenate(sources)}


def _resolve_normalize(normalize, kind):
    choices = ("auto", "maxabs", "zscore", "none")
    if normalize not in choices:
        raise ValueError(
            f"normalize must be one of {', '.join(map(repr, choices))}, "
            f"got {normalize!r}."
        )
    return _AUTO_NORMALIZE[kind] if normalize == "auto" else normalize


def _normalized(X, normalize):
    """``X`` normalised each series on its own; a Dask array block by block."""
    if normalize == "none":
        return X
    normalizer = WaveformNormalizer(normalize=normalize)
    if hasattr(X, "map_blocks"):
        # per series, so block by block is the same as all at once
        normalizer.fit(X[:1].compute())
        return X.map_blocks(normalizer.transform, dtype=X.dtype)
    return normalizer.fit_transform(X)
