"""Cut seismic recordings into fixed-length windows with ObsPy.

:func:`~tscc.read_windows` returns the windows and their provenance as a
:class:`SeismicWindows`; ObsPy is imported only when it is called.
"""

import os
from dataclasses import dataclass

import numpy as np

from ._cutting import (
    WindowSettings,
    cut_traces,
    group_traces,
    import_obspy,
    read_file,
    source_items,
    window_arrays,
)
from .paths import expand_paths

__all__ = [
    "SEISMIC_SUFFIXES",
    "SeismicWindows",
    "read_windows",
    "station_codes",
    "window_times",
]

#: File name suffixes taken for seismic recordings without asking ObsPy.
SEISMIC_SUFFIXES = (
    ".mseed",
    ".miniseed",
    ".ms",
    ".msd",
    ".seed",
    ".sac",
    ".gse2",
    ".gse",
    ".segy",
    ".sgy",
    ".su",
    ".sg2",
    ".dat",
    ".wav",
)


def window_times(starttime, unit="s"):
    """Window starts as datetime64: the ``starttime`` provenance, parsed.

    Parameters
    ----------
    starttime : array-like of str or datetime64
        ISO 8601 UTC times, as :class:`SeismicWindows` and the stores keep
        them (``"2024-03-01T00:00:04.000000Z"``; the trailing ``Z`` may be
        left out), or datetime64 values.
    unit : str, default="s"
        The datetime64 unit of the result, e.g. ``"ms"``.

    Returns
    -------
    times : ndarray of datetime64

    Raises
    ------
    ValueError
        If a value is not an ISO 8601 time.

    Examples
    --------
    >>> from tscc.io import window_times
    >>> window_times(["2024-03-01T00:00:04.000000Z"])
    array(['2024-03-01T00:00:04'], dtype='datetime64[s]')
    """
    times = np.asarray(starttime)
    if times.dtype.kind in "US":
        times = np.char.rstrip(times.astype(str), "Z")
    try:
        return times.astype(f"datetime64[{unit}]")
    except ValueError as exc:
        raise ValueError(
            "times must be datetime64 values or ISO 8601 strings such as "
            f"'2024-03-01T06:00:00Z': {exc}"
        ) from None


def station_codes(trace_id):
    """The station ``NET.STA`` of each SEED id ``NET.STA.LOC.CHA``.

    Parameters
    ----------
    trace_id : array-like of str
        Trace ids, as :class:`SeismicWindows` keeps them (``"XX.ST01..HH?"``).

    Returns
    -------
    stations : ndarray of str

    Examples
    --------
    >>> from tscc.io import station_codes
    >>> station_codes(["XX.ST01..HH?", "XX.ST02.00.HHZ"]).tolist()
    ['XX.ST01', 'XX.ST02']
    """
    network, _, rest = np.char.partition(np.asarray(trace_id, dtype=str), ".").T
    station = np.char.partition(rest, ".")[..., 0]
    return np.char.add(np.char.add(network, "."), station)


@dataclass(frozen=True, eq=False)
class SeismicWindows:
    """Windows cut from seismic recordings, with their provenance.

    Returned by :func:`~tscc.read_windows`, and by :func:`~tscc.open_windows`
    for a store written by :func:`~tscc.write_windows`. ``len(windows)`` is the
    number of windows; row ``i`` of every array describes window ``i``.

    Attributes
    ----------
    X : ndarray or dask.array.Array of shape (n_windows, n_timestamps, n_channels)
        The waveforms, in the units of the files (usually counts), channels in
        the order of ``channels``. NaN marks missing samples (only with
        ``gaps="nan"``). A NumPy array from :func:`~tscc.read_windows`; a lazy
        Dask array over the store, chunked along windows, from
        :func:`~tscc.open_windows` (``X.compute()`` or ``X[i:j].compute()``
        reads windows into memory).
    source : ndarray of shape (n_windows,), dtype str
        The file(s) each window was read from, joined by ``";"`` when a
        window spans several files; ``"<Stream>"`` for in-memory streams.
    trace_id : ndarray of shape (n_windows,), dtype str
        SEED id of the recording: ``"NET.STA.LOC.CHA"`` for one channel per
        window, ``"NET.STA.LOC.HH?"`` (the component as a wildcard, as
        ``Stream.select(id=...)`` takes it) for several.
    starttime : ndarray of shape (n_windows,), dtype str
        Time of the first sample of each window, ISO 8601 in UTC, e.g.
        ``"2020-01-01T00:00:10.000000Z"``.
    sampling_rate : float
        Sampling rate of the windows in Hz.
    channels : str
        Component letters of the channels, e.g. ``"ENZ"``; empty when every
        trace was windowed on its own (``channels=None``).
    """

    X: np.ndarray
    source: np.ndarray
    trace_id: np.ndarray
    starttime: np.ndarray
    sampling_rate: float
    channels: str

    def __len__(self):
        return self.X.shape[0]

    def metadata(self):
        """Per-window provenance as a dict of equal-length arrays.

        Returns
        -------
        metadata : dict of str to ndarray
            ``"source"``, ``"trace_id"`` and ``"starttime"`` (see the class
            attributes); ready for ``pandas.DataFrame(metadata)`` or a CSV.
        """
        return {
            "source": self.source,
            "trace_id": self.trace_id,
            "starttime": self.starttime,
        }


def read_windows(
    source,
    *,
    window,
    step=None,
    channels=None,
    bandpass=None,
    sampling_rate=None,
    gaps="skip",
    format=None,
    dtype=np.float32,
):
    """Cut seismic recordings into windows of shape ``(n, n_timestamps, n_channels)``.

    Parameters
    ----------
    source : str, path-like, obspy.Stream, obspy.Trace or list of them
        What to read: a file in any format ObsPy reads (miniSEED, SAC, GSE2,
        SEG-Y...), a glob pattern (``"data/*.mseed"``; ``"data/**/*.mseed"``
        for every depth below ``data``), a directory (every file in it, not
        recursing), an ObsPy ``Stream``/``Trace``, or a list of these (see
        :func:`~tscc.io.expand_paths`). All are read together, so recordings
        of one channel split over several files (e.g. day files) are merged.
    window : float
        Window length in seconds; ``round(window * sampling_rate)`` samples.
    step : float, default=None
        Seconds between the starts of consecutive windows; ``None`` is
        ``window`` (back-to-back windows). Smaller than ``window`` overlaps.
    channels : str or None, default=None
        Component letters (last letter of the SEED channel code) to stack as
        channels, in this order: ``"Z"`` keeps vertical traces only,
        ``"ENZ"`` gives 3-channel windows per station (``"Z12"`` for
        stations whose horizontals are 1 and 2). Stations lacking one of the
        components are skipped. ``None`` windows every trace on its own, one
        channel per window.
    bandpass : tuple of (float, float), default=None
        ``(freqmin, freqmax)`` in Hz of a zero-phase 4-pole Butterworth
        bandpass applied before windowing (see Notes). ``None`` filters
        nothing.
    sampling_rate : float, default=None
        Resample traces recorded at another rate to this one (ObsPy's
        FFT-based ``Trace.resample``, after the bandpass, which should then
        lie below the new Nyquist frequency). ``None`` requires all selected
        traces to share one rate.
    gaps : {"skip", "nan"}, default="skip"
        ``"skip"``: only windows fully covered by data on every channel are
        kept. ``"nan"``: windows that overlap a gap are kept with NaN at the
        missing samples (:class:`~tscc.TSCCClusterer` treats NaN as missing
        timestamps), as long as one sample is observed on every channel.
    format : str, default=None
        ObsPy format name (``"MSEED"``, ``"SAC"``...) for files; ``None``
        lets ObsPy detect it.
    dtype : dtype, default=numpy.float32
        Data type of the windows.

    Returns
    -------
    windows : SeismicWindows
        ``windows.X`` of shape ``(n_windows, n_timestamps, n_channels)`` and
        per-window ``source``, ``trace_id`` and ``starttime``, ordered by
        trace id, then time.

    Raises
    ------
    ImportError
        If ObsPy is not installed.
    FileNotFoundError
        If a path does not exist or a pattern matches no file.
    ValueError
        If a file is not a seismic recording ObsPy can read, the traces have
        different sampling rates, the bandpass is not below the Nyquist
        frequency, or no window could be cut.

    See Also
    --------
    load_array : Series from ``.npy``, ``.npz`` and ``.csv`` files.
    tscc.WaveformNormalizer : Demean, detrend and scale each window.

    Notes
    -----
    Traces with the same SEED id are merged (ObsPy ``Stream.merge(method=1)``:
    where two overlap, the later one wins) and split into contiguous
    segments at the gaps. Channels of a station are aligned on a common
    sample grid (start times rounded to the nearest sample). Windows are
    cut from the start of each stretch of data (every stretch covered by all
    channels with ``gaps="skip"``, every stretch covered by any channel with
    ``gaps="nan"``) every ``step`` seconds; a last partial window is dropped.

    With ``bandpass``, each contiguous segment is demeaned, linearly
    detrended and cosine-tapered (5 % of its length, at most ``1 / freqmin``
    seconds at each end) before filtering, so windows at the edges of a
    segment carry the taper. Nothing else is done to the samples: no
    instrument correction, no normalisation. Normalise the windows (e.g.
    with :class:`~tscc.WaveformNormalizer`) before clustering, or the
    clusters follow amplitude.

    Examples
    --------
    Three channels of one station, 10 s at 100 Hz, cut into 2 s windows
    (skipped when the doctests run, as ObsPy is optional):

    >>> import numpy as np
    >>> from obspy import Stream, Trace, UTCDateTime  # doctest: +SKIP
    >>> from tscc.io import read_windows
    >>> header = {"network": "XX", "station": "STA", "sampling_rate": 100.0,
    ...           "starttime": UTCDateTime(2020, 1, 1)}  # doctest: +SKIP
    >>> stream = Stream([Trace(np.zeros(1000), header={**header, "channel": f"HH{c}"})
    ...                  for c in "ENZ"])  # doctest: +SKIP
    >>> windows = read_windows(stream, window=2.0, channels="ENZ")  # doctest: +SKIP
    >>> windows.X.shape, windows.trace_id[0]  # doctest: +SKIP
    ((5, 200, 3), 'XX.STA..HH?')
    >>> windows.starttime[1]  # doctest: +SKIP
    '2020-01-01T00:00:02.000000Z'
    """
    obspy = import_obspy()
    settings = WindowSettings.check(
        window, step, channels, bandpass, sampling_rate, gaps, format
    )
    traces = _read_traces(obspy, source, settings.format)
    groups, skipped = group_traces(traces, settings.components)
    if not groups:
        raise ValueError(_no_group_message(traces, settings.components, skipped))
    columns, rate = cut_traces(obspy, groups, settings)
    if not columns["X"]:
        raise ValueError(
            f"No window of {settings.window} s could be cut from {len(traces)} "
            "traces: every stretch of data "
            + ("covered by all channels " if settings.n_channels > 1 else "")
            + "is shorter than the window."
        )
    arrays = window_arrays(columns, columns["X"][0].shape, dtype)
    return SeismicWindows(
        **arrays, sampling_rate=float(rate), channels=settings.components or ""
    )


def _read_traces(obspy, source, format):
    """All traces of ``source`` as a list of (trace, source name) pairs."""
    traces = []
    for item in source_items(source):
        if isinstance(item, obspy.Trace):
            traces.append((item.copy(), "<Stream>"))
        elif isinstance(item, obspy.Stream):
            traces.extend((trace.copy(), "<Stream>") for trace in item)
        elif isinstance(item, str | os.PathLike):
            for path in expand_paths(item):
                traces.extend((trace, path) for trace in read_file(obspy, path, format))
        else:
            raise TypeError(
                "source must be a path, glob pattern, directory, obspy Stream or "
                f"Trace, or a list of them; got {type(item).__name__}."
            )
    if not traces:
        raise ValueError(f"{source!s} holds no traces.")
    return traces


def _no_group_message(traces, components, skipped):
    found = sorted({trace.id for trace, _ in traces})
    shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
    if skipped:
        return (
            f"No station has all of the components {components!r} "
            f"(traces read: {shown})."
        )
    return f"No trace has one of the components {components!r} (traces read: {shown})."
