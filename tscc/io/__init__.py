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

ObsPy is needed only by :func:`~tscc.read_windows` and is imported when it is
called: install it with ``pip install "tscc[seismic]"``.
"""

from .arrays import ARRAY_SUFFIXES, load_array
from .paths import expand_paths
from .windows import SEISMIC_SUFFIXES, SeismicWindows, read_windows

__all__ = [
    "ARRAY_SUFFIXES",
    "SEISMIC_SUFFIXES",
    "SeismicWindows",
    "expand_paths",
    "load_array",
    "read_windows",
]
