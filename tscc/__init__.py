"""tscc: unsupervised clustering of time series with contrastive learning.

The main entry point is :class:`TSCCClusterer`, a scikit-learn compatible
estimator implementing Time Series Contrastive Clustering.
:mod:`tscc.synthetic` generates labelled synthetic waveforms;
:mod:`tscc.datasets` loads labelled waveforms (including real seismic windows
shipped with the package); :mod:`tscc.preprocessing` normalises waveforms;
:mod:`tscc.metrics` scores clusterings; :mod:`tscc.io` reads series from
``.npy``/``.npz``/``.csv`` files and windows from seismic recordings (ObsPy),
and writes archives larger than memory to a windows store (Zarr);
:mod:`tscc.plotting` draws clusterings (matplotlib); :mod:`tscc.cli` is the
``tscc`` command line.
"""

from ._version import __version__
from .datasets import load_npz_dataset, load_phasenet_windows
from .estimator import TSCCClusterer
from .io import load_array, open_windows, read_windows, write_windows
from .metrics import clustering_accuracy, clustering_scores
from .preprocessing import WaveformNormalizer
from .synthetic import make_microseismic

__all__ = [
    "TSCCClusterer",
    "WaveformNormalizer",
    "clustering_accuracy",
    "clustering_scores",
    "load_array",
    "load_npz_dataset",
    "load_phasenet_windows",
    "make_microseismic",
    "open_windows",
    "read_windows",
    "write_windows",
    "__version__",
]
