"""Cut seismic recordings into fixed-length windows with ObsPy.

:func:`~tscc.read_windows` returns the windows and their provenance as a
:class:`SeismicWindows`; ObsPy is imported only when it is called.
"""

import os
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .paths import expand_paths

__all__ = ["SEISMIC_SUFFIXES", "SeismicWindows", "read_windows"]

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

_OBSPY_HINT = 'pip install "tscc[seismic]"'


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
    obspy = _import_obspy()
    settings = _check_settings(window, step, channels, bandpass, sampling_rate, gaps)
    traces = _read_traces(obspy, source, format)
    groups, skipped = _group_traces(traces, settings.components)
    if not groups:
        raise ValueError(_no_group_message(traces, settings.components, skipped))
    columns, rate = _cut_traces(obspy, groups, settings)
    if not columns["X"]:
        raise ValueError(
            f"No window of {settings.window} s could be cut from {len(traces)} "
            "traces: every stretch of data "
            + (
                "covered by all channels "
                if len(settings.components or "Z") > 1
                else ""
            )
            + "is shorter than the window."
        )
    n_timestamps, n_channels = columns["X"][0].shape
    return SeismicWindows(
        X=_stack_windows(columns["X"], (n_timestamps, n_channels), dtype),
        source=np.array(columns["source"], dtype=str),
        trace_id=np.array(columns["trace_id"], dtype=str),
        starttime=np.array(columns["starttime"], dtype=str),
        sampling_rate=float(rate),
        channels=settings.components or "",
    )


class _Settings(NamedTuple):
    """Checked windowing options, shared by read_windows and write_windows."""

    window: float
    step: float
    components: str | None
    bandpass: tuple | None
    sampling_rate: float | None
    gaps: str


def _check_settings(window, step, channels, bandpass, sampling_rate, gaps):
    window, step = _check_window(window, step)
    components = _check_channels(channels)
    if bandpass is not None:
        bandpass = _check_bandpass(bandpass)
    if gaps not in ("skip", "nan"):
        raise ValueError(f"gaps must be 'skip' or 'nan', got {gaps!r}.")
    if sampling_rate is not None and not sampling_rate > 0:
        raise ValueError(f"sampling_rate must be positive, got {sampling_rate!r}.")
    return _Settings(window, step, components, bandpass, sampling_rate, gaps)


def _window_samples(settings, rate):
    """Samples per window and between window starts at ``rate`` Hz."""
    n_samples = int(round(settings.window * rate))
    n_step = max(1, int(round(settings.step * rate)))
    if n_samples < 1:
        raise ValueError(
            f"window={settings.window} s is shorter than one sample at {rate} Hz."
        )
    return n_samples, n_step


def _cut_traces(obspy, groups, settings):
    """Cut grouped traces (see :func:`_group_traces`) into windows.

    The one code path of :func:`read_windows` (all traces at once) and
    :func:`~tscc.io.write_windows` (one group of files at a time).

    Returns
    -------
    columns : dict of str to list
        ``"X"`` (one ``(n_timestamps, n_channels)`` float64 array per window),
        ``"source"``, ``"trace_id"`` and ``"starttime"``, in window order.
    rate : float
        The sampling rate of the windows.
    """
    prepared = []
    for key, by_channel in groups.items():
        segments = [
            _prepare_segments(
                obspy, channel_traces, settings.bandpass, settings.sampling_rate
            )
            for channel_traces in by_channel
        ]
        prepared.append((key, by_channel, segments))
    rate = _common_rate(prepared)
    n_samples, n_step = _window_samples(settings, rate)
    columns = {"X": [], "source": [], "trace_id": [], "starttime": []}
    for key, by_channel, segments in prepared:
        _cut_group(
            columns,
            trace_id=_group_id(key, settings.components),
            originals=by_channel,
            segments=segments,
            rate=rate,
            n_samples=n_samples,
            n_step=n_step,
            gaps=settings.gaps,
        )
    return columns, rate


def _stack_windows(windows, shape, dtype):
    """Windows as one array of ``dtype``, without a float64 copy of them all."""
    out = np.empty((len(windows), *shape), dtype=dtype)
    for i, values in enumerate(windows):
        out[i] = values
    return out


def _import_obspy():
    try:
        import obspy
    except ImportError as exc:
        raise ImportError(
            f"Reading seismic files needs ObsPy, which is not installed: {_OBSPY_HINT}"
        ) from exc
    return obspy


def _check_window(window, step):
    try:
        window = float(window)
        step = window if step is None else float(step)
    except (TypeError, ValueError):
        raise ValueError(
            f"window and step must be numbers of seconds, got {window!r} and {step!r}."
        ) from None
    if not (np.isfinite(window) and window > 0):
        raise ValueError(f"window must be a positive number of seconds, got {window}.")
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step must be a positive number of seconds, got {step}.")
    return window, step


def _check_channels(channels):
    if channels is None:
        return None
    if isinstance(channels, str):
        letters = channels.strip().upper()
    else:
        letters = "".join(str(letter).strip().upper() for letter in channels)
    if (
        not letters
        or len(set(letters)) != len(letters)
        or not all(letter.isalnum() for letter in letters)
    ):
        raise ValueError(
            "channels must be distinct component letters such as 'Z' or 'ENZ', "
            f"got {channels!r}."
        )
    return letters


def _check_bandpass(bandpass):
    try:
        freqmin, freqmax = (float(value) for value in bandpass)
    except (TypeError, ValueError):
        raise ValueError(
            f"bandpass must be a pair (freqmin, freqmax) in Hz, got {bandpass!r}."
        ) from None
    if not 0 < freqmin < freqmax:
        raise ValueError(
            f"bandpass needs 0 < freqmin < freqmax, got ({freqmin}, {freqmax})."
        )
    return freqmin, freqmax


def _read_traces(obspy, source, format):
    """All traces of ``source`` as a list of (trace, source name) pairs."""
    items = source if isinstance(source, list | tuple) else [source]
    if not items:
        raise ValueError("No input given: source is an empty list.")
    traces = []
    for item in items:
        if isinstance(item, obspy.Trace):
            traces.append((item.copy(), "<Stream>"))
        elif isinstance(item, obspy.Stream):
            traces.extend((trace.copy(), "<Stream>") for trace in item)
        elif isinstance(item, str | os.PathLike):
            for path in expand_paths(item):
                traces.extend(
                    (trace, path) for trace in _read_file(obspy, path, format)
                )
        else:
            raise TypeError(
                "source must be a path, glob pattern, directory, obspy Stream or "
                f"Trace, or a list of them; got {type(item).__name__}."
            )
    if not traces:
        raise ValueError(f"{source!s} holds no traces.")
    return traces


def _read_file(obspy, path, format, headonly=False):
    try:
        stream = obspy.read(path, format=format, headonly=headonly)
    except (TypeError, ValueError, OSError, NotImplementedError) as exc:
        raise ValueError(
            f"{path} is not a seismic file ObsPy can read (unknown format or "
            f"damaged file: {exc})."
        ) from exc
    return list(stream)


def _group_traces(traces, components):
    """Traces by station (or by id): {key: [traces of channel 0, 1, ...]}."""
    groups = {}
    for trace, name in traces:
        trace.stats.tscc_source = name
        if components is None:
            groups.setdefault(trace.id, [[]])[0].append(trace)
            continue
        component = trace.stats.channel[-1:].upper()
        if component not in components:
            continue
        stats = trace.stats
        key = (stats.network, stats.station, stats.location, stats.channel[:-1])
        by_channel = groups.setdefault(key, [[] for _ in components])
        by_channel[components.index(component)].append(trace)
    skipped = {key for key, by_channel in groups.items() if not all(by_channel)}
    groups = {
        key: by_channel
        for key, by_channel in sorted(groups.items())
        if key not in skipped
    }
    return groups, skipped


def _no_group_message(traces, components, skipped):
    found = sorted({trace.id for trace, _ in traces})
    shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
    if skipped:
        return (
            f"No station has all of the components {components!r} "
            f"(traces read: {shown})."
        )
    return f"No trace has one of the components {components!r} (traces read: {shown})."


def _group_id(key, components):
    if components is None:
        return key
    network, station, location, prefix = key
    suffix = components if len(components) == 1 else "?"
    return f"{network}.{station}.{location}.{prefix}{suffix}"


def _prepare_segments(obspy, traces, bandpass, sampling_rate):
    """Merge traces of one channel and return its contiguous float segments."""
    stream = obspy.Stream([trace.copy() for trace in traces])
    for trace in stream:
        trace.data = np.asarray(trace.data, dtype=np.float64)
    try:
        stream.merge(method=1, fill_value=None)
    except Exception as exc:  # ObsPy raises a bare Exception for mixed rates
        raise ValueError(f"Cannot merge the traces of {traces[0].id}: {exc}") from exc
    segments = stream.split()
    for segment in segments:
        if bandpass is not None:
            _bandpass(segment, bandpass)
        if (
            sampling_rate is not None
            and segment.stats.sampling_rate != sampling_rate
            and segment.stats.npts > 1
        ):
            segment.resample(sampling_rate)
    return list(segments)


def _bandpass(segment, bandpass):
    freqmin, freqmax = bandpass
    nyquist = segment.stats.sampling_rate / 2
    if freqmax >= nyquist:
        raise ValueError(
            f"bandpass freqmax={freqmax} Hz is not below the Nyquist frequency "
            f"({nyquist} Hz) of {segment.id}."
        )
    if segment.stats.npts < 2:
        return
    segment.detrend("demean")
    segment.detrend("linear")
    segment.taper(max_percentage=0.05, type="cosine", max_length=1.0 / freqmin)
    segment.filter(
        "bandpass", freqmin=freqmin, freqmax=freqmax, corners=4, zerophase=True
    )


def _common_rate(prepared):
    rates = {
        segment.stats.sampling_rate
        for _, _, segments in prepared
        for channel in segments
        for segment in channel
    }
    if len(rates) > 1:
        shown = ", ".join(f"{rate:g}" for rate in sorted(rates))
        raise ValueError(
            f"The traces have different sampling rates ({shown} Hz); pass "
            "sampling_rate= (--sampling-rate on the command line) to resample "
            "them to one."
        )
    return rates.pop()


def _intervals(spans):
    """Merge half-open integer spans [(start, end), ...] into disjoint ones."""
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _intersect(first, second):
    out, i, j = [], 0, 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            out.append([start, end])
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out


def _cut_group(
    columns, *, trace_id, originals, segments, rate, n_samples, n_step, gaps
):
    """Append the windows of one station (or trace id) to ``columns``."""
    reference = min(
        segment.stats.starttime for channel in segments for segment in channel
    )

    def index(time):
        return int(round((time - reference) * rate))

    placed = [
        [(index(segment.stats.starttime), segment.data) for segment in channel]
        for channel in segments
    ]
    coverage = [
        _intervals([(start, start + data.size) for start, data in channel])
        for channel in placed
    ]
    stretches = coverage[0]
    for channel in coverage[1:]:
        if gaps == "skip":
            stretches = _intersect(stretches, channel)
        else:
            stretches = _intervals([*map(tuple, stretches), *map(tuple, channel)])
    # Source files, as sample spans of the traces as read (before merging).
    origins = [
        (
            index(trace.stats.starttime),
            index(trace.stats.endtime) + 1,
            trace.stats.tscc_source,
        )
        for channel in originals
        for trace in channel
    ]
    for first, last in stretches:
        if last - first < n_samples:
            continue
        block = np.full((last - first, len(placed)), np.nan)
        for c, channel in enumerate(placed):
            for start, data in channel:
                lo, hi = max(start, first), min(start + data.size, last)
                if lo < hi:
                    block[lo - first : hi - first, c] = data[lo - start : hi - start]
        for offset in range(0, last - first - n_samples + 1, n_step):
            values = block[offset : offset + n_samples]
            if gaps == "nan" and not (~np.isnan(values).any(axis=1)).any():
                continue
            start = first + offset
            names = sorted(
                {
                    name
                    for lo, hi, name in origins
                    if lo < start + n_samples and hi > start
                }
            )
            columns["X"].append(values)
            columns["source"].append(";".join(names))
            columns["trace_id"].append(trace_id)
            columns["starttime"].append(str(reference + start / rate))
