"""Windowing settings, grouping and cutting shared by read_windows and write_windows.

:func:`~tscc.read_windows` cuts every trace at once and
:func:`~tscc.io.write_windows` one group of files at a time, through the same
functions here, so that the two give the same windows: :class:`WindowSettings`
(the checked options), :func:`group_traces` (traces by station or by id),
:func:`cut_traces` (grouped traces into windows) and :func:`window_arrays` (the
windows as arrays).
"""

import json
from dataclasses import dataclass

import numpy as np

OBSPY_HINT = 'pip install "tscc[seismic]"'

#: The per-window provenance, in the order of :class:`~tscc.io.SeismicWindows`.
PROVENANCE = ("source", "trace_id", "starttime")

# The windowing keywords of read_windows but ``window``, with their defaults.
_DEFAULTS = {
    "step": None,
    "channels": None,
    "bandpass": None,
    "sampling_rate": None,
    "gaps": "skip",
    "format": None,
}

#: Keyword options of the windowing, as read_windows takes them.
OPTION_NAMES = ("window", *_DEFAULTS)


def import_obspy():
    """The ``obspy`` module; an ImportError with the install hint without it."""
    try:
        import obspy
    except ImportError as exc:
        raise ImportError(
            f"Reading seismic files needs ObsPy, which is not installed: {OBSPY_HINT}"
        ) from exc
    return obspy


@dataclass(frozen=True)
class WindowSettings:
    """Checked windowing options (see :func:`~tscc.read_windows`).

    Attributes
    ----------
    window, step : float
        Seconds of a window and between window starts.
    components : str or None
        Upper-case component letters, or None for every trace on its own.
    bandpass : tuple of (float, float) or None
    sampling_rate : float or None
    gaps : {"skip", "nan"}
    format : str or None
        ObsPy format name of the files.
    """

    window: float
    step: float
    components: str | None
    bandpass: tuple | None
    sampling_rate: float | None
    gaps: str
    format: str | None = None

    @classmethod
    def check(cls, window, step, channels, bandpass, sampling_rate, gaps, format):
        """Settings from read_windows' windowing options, checked.

        Raises
        ------
        ValueError
            If an option is invalid.
        """
        window, step = _check_window(window, step)
        if bandpass is not None:
            bandpass = _check_bandpass(bandpass)
        if gaps not in ("skip", "nan"):
            raise ValueError(f"gaps must be 'skip' or 'nan', got {gaps!r}.")
        if sampling_rate is not None and not sampling_rate > 0:
            raise ValueError(f"sampling_rate must be positive, got {sampling_rate!r}.")
        return cls(
            window,
            step,
            _check_channels(channels),
            bandpass,
            sampling_rate,
            gaps,
            format,
        )

    @classmethod
    def from_options(cls, options, caller):
        """Settings from a dict of keyword options given to ``caller``.

        Raises
        ------
        TypeError
            If an option is unknown or ``window`` is missing, in Python's words
            for a call of ``caller``.
        ValueError
            If an option is invalid.
        """
        check_option_names(options, caller)
        if "window" not in options:
            raise TypeError(f"{caller}() missing required keyword argument: 'window'")
        return cls.check(**{**_DEFAULTS, **options})

    @property
    def n_channels(self):
        """Channels of a window."""
        return len(self.components or "Z")

    def samples(self, rate):
        """Samples per window and between window starts at ``rate`` Hz."""
        n_samples = int(round(self.window * rate))
        n_step = max(1, int(round(self.step * rate)))
        if n_samples < 1:
            raise ValueError(
                f"window={self.window} s is shorter than one sample at {rate} Hz."
            )
        return n_samples, n_step

    def record(self):
        """The options as a windows store's attributes hold them (JSON values)."""
        record = {
            "window": self.window,
            "step": self.step,
            "channels": self.components,
            "bandpass": self.bandpass,
            "sampling_rate": self.sampling_rate,
            "gaps": self.gaps,
            "format": self.format,
        }
        # as read back from JSON (tuples become lists), to compare like with like
        return json.loads(json.dumps(record))


def check_option_names(options, caller):
    """Raise Python's TypeError for a keyword ``caller`` does not take."""
    for name in options:
        if name not in OPTION_NAMES:
            raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}")


def source_items(source):
    """``source`` as a non-empty list of items (paths, streams)."""
    items = list(source) if isinstance(source, list | tuple) else [source]
    if not items:
        raise ValueError("No input given: source is an empty list.")
    return items


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


# ---------------------------------------------------------------------------
# Reading and grouping
# ---------------------------------------------------------------------------


def read_file(obspy, path, format, headonly=False):
    """The traces of one file, as a list; ValueError for a file ObsPy cannot read."""
    try:
        stream = obspy.read(path, format=format, headonly=headonly)
    except (TypeError, ValueError, OSError, NotImplementedError) as exc:
        raise ValueError(
            f"{path} is not a seismic file ObsPy can read (unknown format or "
            f"damaged file: {exc})."
        ) from exc
    return list(stream)


def station_key(trace, components):
    """The group key and component letter of a trace, or None if not selected.

    The key is the SEED id with ``components=None``, else (network, station,
    location, band and instrument codes): the traces of one multichannel
    recording share it.
    """
    stats = trace.stats
    component = stats.channel[-1:].upper()
    if components is None:
        return trace.id, component
    if component not in components:
        return None
    return (stats.network, stats.station, stats.location, stats.channel[:-1]), component


def group_traces(traces, components):
    """Traces by station (or by id): {key: [traces of channel 0, 1, ...]}.

    Returns the groups, sorted by key, and the keys skipped for lacking one of
    the ``components``.
    """
    groups = {}
    for trace, name in traces:
        trace.stats.tscc_source = name
        selected = station_key(trace, components)
        if selected is None:
            continue
        key, component = selected
        if components is None:
            groups.setdefault(key, [[]])[0].append(trace)
            continue
        by_channel = groups.setdefault(key, [[] for _ in components])
        by_channel[components.index(component)].append(trace)
    skipped = {key for key, by_channel in groups.items() if not all(by_channel)}
    groups = {
        key: by_channel
        for key, by_channel in sorted(groups.items())
        if key not in skipped
    }
    return groups, skipped


def one_rate(rates):
    """The one sampling rate of a set of them; ValueError naming them otherwise."""
    if len(rates) > 1:
        shown = ", ".join(f"{rate:g}" for rate in sorted(rates))
        raise ValueError(
            f"The traces have different sampling rates ({shown} Hz); pass "
            "sampling_rate= (--sampling-rate on the command line) to resample "
            "them to one."
        )
    return next(iter(rates))


# ---------------------------------------------------------------------------
# Cutting
# ---------------------------------------------------------------------------


def empty_columns():
    """The columns of no window, as :func:`cut_traces` returns them."""
    return {"X": [], **{name: [] for name in PROVENANCE}}


def cut_traces(obspy, groups, settings):
    """Cut grouped traces (see :func:`group_traces`) into windows.

    The one code path of :func:`~tscc.read_windows` (all traces at once) and
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
    rate = one_rate(
        {
            segment.stats.sampling_rate
            for _, _, segments in prepared
            for channel in segments
            for segment in channel
        }
    )
    n_samples, n_step = settings.samples(rate)
    columns = empty_columns()
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


def window_arrays(columns, shape, dtype):
    """The columns of :func:`cut_traces` as arrays: ``X`` of ``dtype``, str provenance.

    ``X`` is filled window by window, without a float64 copy of them all, and
    has shape ``(0, *shape)`` when there is no window.
    """
    X = np.empty((len(columns["X"]), *shape), dtype=dtype)
    for i, values in enumerate(columns["X"]):
        X[i] = values
    arrays = {"X": X}
    for name in PROVENANCE:
        arrays[name] = np.array(columns[name], dtype=str)
    return arrays


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
