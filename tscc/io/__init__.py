"""Read series from files: NumPy/CSV arrays and seismic recordings.

:func:`~tscc.load_array` (:mod:`tscc.io.arrays`) reads ``.npy``, ``.npz`` and
``.csv`` files. :func:`~tscc.read_windows` (:mod:`tscc.io.windows`) reads
seismic recordings (miniSEED, SAC and every other format ObsPy knows, or ObsPy
``Stream`` objects in memory) and cuts them into fixed-length windows of shape
``(n_windows, n_timestamps, n_channels)``, with the source file, trace id and
start time of each window, so that a cluster label can be traced back to the
waveform it came from. :func:`expand_paths` (:mod:`tscc.io.paths`) turns the
files, directories and glob patterns given as input into file names, for
:func:`~tscc.read_windows` and the command line alike.

For archives larger than memory, :func:`write_windows` (:mod:`tscc.io.store`)
cuts recordings group of files by group of files into a Zarr store on disk,
resumably, and :func:`open_windows` opens it as windows whose ``X`` is a lazy
Dask array.

:func:`open_series` (:mod:`tscc.io.inputs`) opens any of these inputs (array
files, seismic files and patterns cut into windows, a windows store) and
normalises the series for clustering: the one route of ``tscc fit``,
``predict`` and ``transform``.

ObsPy is needed only by :func:`~tscc.read_windows` and is imported when it is
called: install it with ``pip install "tscc[seismic]"``. Zarr and Dask are
needed only by :func:`write_windows` and :func:`open_windows`: ``pip install
"tscc[dask]"``.
"""

from .arrays import ARRAY_SUFFIXES, load_array
from .inputs import SeriesInput, open_series
from .paths import expand_paths
from .store import StoreSummary, open_windows, write_windows
from .windows import (
    SEISMIC_SUFFIXES,
    SeismicWindows,
    read_windows,
    station_codes,
    window_times,
)

__all__ = [
    "ARRAY_SUFFIXES",
    "SEISMIC_SUFFIXES",
    "SeismicWindows",
    "SeriesInput",
    "StoreSummary",
    "expand_paths",
    "load_array",
    "open_series",
    "open_windows",
    "read_windows",
    "station_codes",
    "window_times",
    "write_windows",
]
