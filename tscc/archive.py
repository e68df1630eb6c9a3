"""A synthetic archive of miniSEED recordings with local events at known times.

:func:`write_event_archive` writes what a small network records: for each
station and day a file of continuous three-component noise, into which copies
of local events (P and S arrivals with their codas, as
:func:`~tscc.make_microseismic` draws them) are added at known times, among
them a swarm. The :class:`EventArchive` it returns says which windows hold an
event, so that a clustering of the archive (``tscc windows``, ``fit``,
``predict``, ``report``) can be scored. Writing needs ObsPy
(``pip install "tscc[seismic]"``).
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io.windows import station_codes, window_times
from .synthetic import _band_limited_noise, _impulsive_events, _unit_rms

__all__ = ["EventArchive", "write_event_archive"]

# Noise of the recordings, in counts (standard deviation), and the peak of
# the events over it: clear local events.
_NOISE_COUNTS = 100.0
_EVENT_OVER_NOISE = (8.0, 40.0)
# Seconds of an event's record: its P and S arrivals and most of their codas.
_EVENT_SECONDS = 3.0


@dataclass(frozen=True)
class EventArchive:
    """The files of :func:`write_event_archive` and the events in them.

    Attributes
    ----------
    folder : str
        The archive's folder: ``STATION/NET.STATION.DAY.mseed`` files.
    files : tuple of str
        Every file written.
    stations : tuple of str
        ``NET.STA`` of each station.
    event_station : ndarray of str
        ``NET.STA`` of each event's record.
    event_time : ndarray of datetime64[ms]
        Start of each event's record (a little before its P arrival), UTC.
    window : float
        Length in seconds of the windows the events were placed in (see
        :meth:`holds_event`).
    """

    folder: str
    files: tuple
    stations: tuple
    event_station: np.ndarray
    event_time: np.ndarray
    window: float

    def holds_event(self, trace_id, starttime):
        """Whether each window holds an event.

        Parameters
        ----------
        trace_id : array-like of str
            SEED ids of the windows (``NET.STA.LOC.CHA``), e.g.
            ``SeismicWindows.trace_id`` or the ``trace_id`` of a predictions
            store.
        starttime : array-like of str or datetime64
            Start of each window, ISO 8601 UTC.

        Returns
        -------
        holds : ndarray of bool
            True where an event's record starts inside the window
            ``[starttime, starttime + window)`` of the same station.
        """
        station = station_codes(trace_id)
        starts = window_times(starttime, "ms")
        width = np.timedelta64(int(round(self.window * 1000)), "ms")
        holds = np.zeros(station.shape, dtype=bool)
        for name in np.unique(station):
            mine = station == name
            times = np.sort(self.event_time[self.event_station == name])
            first = np.searchsorted(times, starts[mine], side="left")
            last = np.searchsorted(times, starts[mine] + width, side="left")
            holds[mine] = last > first
        return holds


def write_event_archive(
    folder,
    *,
    n_stations=2,
    n_days=2,
    hours=1.5,
    sampling_rate=50.0,
    window=4.0,
    events_per_hour=80.0,
    swarm=True,
    random_state=0,
):
    """Write miniSEED day files of noise with local events at known times.

    Each station records ``hours`` of three-component (E, N, Z) data from
    midnight on each of ``n_days`` days, one file per station and day (the
    three channels in it, in counts). The noise is white and band-limited
    Gaussian noise; the events are local earthquakes as
    :func:`~tscc.make_microseismic` draws them (a P and an S arrival with
    their codas, over 3 s), of 8 to 40 times the noise's standard deviation,
    placed so that each lies inside one of the ``window``-second windows that
    ``tscc windows --window WINDOW`` cuts from the start of the files. With
    ``swarm``, the second day of the first station holds a swarm: five times
    as many events for a tenth of the hours.

    Parameters
    ----------
    folder : str or path-like
        Where to write; created if missing.
    n_stations, n_days : int, default=2
        Stations ``XX.ST01`` ... and days from 2024-03-01.
    hours : float, default=1.5
        Hours recorded each day, from 00:00 UTC.
    sampling_rate : float, default=50.0
        Samples per second.
    window : float, default=4.0
        Length of the windows the events are placed in, in seconds.
    events_per_hour : float, default=80.0
        Mean rate of events at each station outside the swarm.
    swarm : bool, default=True
        Whether the first station records a swarm on the second day.
    random_state : int, default=0
        Seed of the noise and of the events.

    Returns
    -------
    archive : EventArchive
        The files and the events: ``archive.holds_event(trace_id,
        starttime)`` says which windows hold one.

    Raises
    ------
    ImportError
        If ObsPy is not installed.
    ValueError
        If ``window`` is shorter than an event's record (3 s) or longer
        than a day's recording.

    Examples
    --------
    >>> import tempfile
    >>> from tscc.archive import write_event_archive
    >>> archive = write_event_archive(tempfile.mkdtemp(), hours=0.1)
    ... # doctest: +SKIP
    >>> len(archive.files), archive.stations  # doctest: +SKIP
    (4, ('XX.ST01', 'XX.ST02'))
    """
    try:
        from obspy import Stream, Trace, UTCDateTime
    except ImportError as exc:
        raise ImportError(
            'Writing miniSEED files needs ObsPy: pip install "tscc[seismic]".'
        ) from exc
    n_windows = int(hours * 3600 // window)
    if window < _EVENT_SECONDS + 0.5 or n_windows < 1:
        raise ValueError(
            f"window={window} must hold an event's {_EVENT_SECONDS} s record "
            f"and half a second more, and fit in the {hours} h recorded a day."
        )
    rng = np.random.default_rng(random_state)
    folder = Path(folder)
    n_event = int(round(_EVENT_SECONDS * sampling_rate))
    times = np.arange(n_event) / sampling_rate
    # a cosine taper over the last half second: no step at the record's end
    taper = np.ones(n_event)
    fade = int(0.5 * sampling_rate)
    taper[-fade:] = 0.5 * (1 + np.cos(np.linspace(0, np.pi, fade)))
    n_samples = n_windows * int(round(window * sampling_rate))
    files, event_station, event_time = [], [], []
    stations = tuple(f"XX.ST{number + 1:02d}" for number in range(n_stations))
    legacy = np.random.RandomState(rng.integers(2**31))
    for s, station in enumerate(stations):
        for day in range(n_days):
            start = UTCDateTime(2024, 3, 1 + day)
            white = _unit_rms(legacy.standard_normal((1, n_samples, 3)))
            coloured = _unit_rms(
                _band_limited_noise((1, n_samples, 3), sampling_rate, legacy)
            )
            record = _NOISE_COUNTS * (0.6 * white + 0.8 * coloured)[0].T
            rate = np.full(n_windows, events_per_hour * window / 3600)
            if swarm and s == 0 and day == 1:
                begin = int(0.4 * n_windows)
                rate[begin : begin + max(1, n_windows // 10)] *= 5
            holds = np.flatnonzero(rng.random(n_windows) < np.minimum(rate, 0.9))
            if holds.size:
                waves, _, _ = _impulsive_events(
                    holds.size, times, _EVENT_SECONDS, 3, legacy
                )
                peaks = np.abs(waves).max(axis=(1, 2), keepdims=True)
                scale = rng.uniform(*_EVENT_OVER_NOISE, size=(holds.size, 1, 1))
                waves *= taper[None, :, None] * scale * _NOISE_COUNTS / peaks
                offset = rng.uniform(0.2, window - _EVENT_SECONDS - 0.2, holds.size)
                first = np.round((holds * window + offset) * sampling_rate)
                for wave, at in zip(waves, first.astype(int), strict=True):
                    record[:, at : at + n_event] += wave.T
                onset = (
                    holds * window + np.round(offset * sampling_rate) / sampling_rate
                )
                event_station.extend([station] * holds.size)
                event_time.extend(
                    np.datetime64(start.datetime, "ms")
                    + np.round(onset * 1000).astype("timedelta64[ms]")
                )
            net, code = station.split(".")
            traces = [
                Trace(
                    np.round(record[c]).astype(np.int32),
                    header={
                        "network": net,
                        "station": code,
                        "channel": f"HH{component}",
                        "sampling_rate": sampling_rate,
                        "starttime": start,
                    },
                )
                for c, component in enumerate("ENZ")
            ]
            path = folder / code / f"{station}.{start.julday:03d}.mseed"
            path.parent.mkdir(parents=True, exist_ok=True)
            Stream(traces).write(str(path), format="MSEED")
            files.append(os.fspath(path))
    return EventArchive(
        folder=os.fspath(folder),
        files=tuple(files),
        stations=stations,
        event_station=np.array(event_station, dtype=str),
        event_time=np.array(event_time, dtype="datetime64[ms]"),
        window=float(window),
    )
