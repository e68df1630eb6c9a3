"""Cut an archive of seismic recordings into a windows store on disk (Zarr).

:func:`~tscc.io.write_windows` cuts recordings into windows as
:func:`~tscc.read_windows` does, but one group of files at a time, appending
the windows to a Zarr store, so that an archive larger than memory can be
windowed; re-running the same call resumes an interrupted run.
:func:`~tscc.io.open_windows` opens the store as a :class:`SeismicWindows`
whose ``X`` is a lazy Dask array.

Zarr and Dask are optional (``pip install "tscc[dask]"``) and imported only
when these functions are called.

Layout of a store (a Zarr v3 group, a directory)::

    X           float32 (n_windows, n_timestamps, n_channels), chunked along
                windows only: chunks of (chunk_size, n_timestamps, n_channels)
    source      str (n_windows,)   provenance of each window, as in
    trace_id    str (n_windows,)   SeismicWindows
    starttime   str (n_windows,)
    files       str (n_files,)     every input file, as an absolute path
    file_group  int32 (n_files,)   the group each file is read in, -1 for
                                   none (unreadable, or no selected channel)

and its attributes: ``tscc_windows`` (format version), ``tscc_version``,
``settings`` (the windowing options), ``sampling_rate``, ``n_timestamps``,
``channels``, ``n_groups``, and the commit record ``groups_done``,
``n_windows`` and ``skipped_files`` (``{file: reason}``), rewritten only after
a group's windows are fully written.
"""

import math
import os
import shutil
import time
import warnings
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

import numpy as np

from .._version import __version__
from ..progress import JobProgress
from ._cutting import (
    PROVENANCE,
    WindowSettings,
    cut_traces,
    empty_columns,
    group_traces,
    import_obspy,
    one_rate,
    read_file,
    source_items,
    station_key,
    window_arrays,
)
from .paths import expand_paths
from .windows import SeismicWindows

__all__ = ["StoreSummary", "open_windows", "write_windows"]

_DASK_HINT = 'pip install "tscc[dask]"'

#: Version of the store layout, in the ``tscc_windows`` attribute.
STORE_FORMAT = 1

# A chunk of X of about this many bytes: small enough that a random batch of
# windows reads little more than it needs, large enough that an archive of
# millions of windows is not millions of files.
_CHUNK_BYTES = 4 * 2**20
# Provenance strings are small; larger chunks keep the file count down.
_PROVENANCE_CHUNK = 2**14
_SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class StoreSummary:
    """What :func:`write_windows` did, and what the store holds.

    Attributes
    ----------
    path : str
        The store.
    n_windows : int
        Windows in the store.
    n_timestamps, n_channels : int
        Shape of one window.
    sampling_rate : float
        Sampling rate of the windows in Hz.
    channels : str
        Component letters of the channels (empty with ``channels=None``).
    n_groups : int
        Groups of files the archive was cut in.
    groups_written : int
        Groups processed by this call (0 when the store was already complete).
    windows_written : int
        Windows appended by this call.
    skipped_files : dict of str to str
        Files left out, with the reason (unreadable, or the group failed).
    resumed : bool
        Whether the store existed before the call.
    seconds : float
        Duration of the call.
    """

    path: str
    n_windows: int
    n_timestamps: int
    n_channels: int
    sampling_rate: float
    channels: str
    n_groups: int
    groups_written: int
    windows_written: int
    skipped_files: dict = field(default_factory=dict)
    resumed: bool = False
    seconds: float = 0.0

    @property
    def already_complete(self):
        """Whether the call found the store complete and did nothing."""
        return self.resumed and self.groups_written == 0


def write_windows(
    source, store, *, chunk_size=None, n_jobs=1, progress=False, **window_options
):
    """Cut seismic files into windows written to a Zarr store, group by group.

    The windows, their provenance and their order are those of
    :func:`~tscc.read_windows` on the same files and options, except that
    files are read in groups (see Notes) and no window spans two groups.
    Memory holds one group of files at a time (``n_jobs`` groups with
    ``n_jobs > 1``), never the archive. Open the result with
    :func:`open_windows`.

    Parameters
    ----------
    source : str, path-like or list of them
        Files, directories or glob patterns (``"sds/**/*.D.*"``), as
        :func:`~tscc.read_windows` takes them (see
        :func:`~tscc.io.expand_paths`); not in-memory streams.
    store : str or path-like
        Directory of the Zarr store to write; created if it does not exist,
        resumed if it is a store that an earlier call with the same arguments
        did not finish.
    chunk_size : int, default=None
        Windows per chunk of ``X``; ``None`` chooses chunks of about 4 MiB.
        A resumed store keeps its chunks.
    n_jobs : int, default=1
        Groups cut at the same time, each in its own process
        (:class:`concurrent.futures.ProcessPoolExecutor`); ``-1`` uses every
        CPU. The store's content does not depend on it.
    progress : bool, default=False
        Show a progress bar over the groups (tqdm; a line per 5 % of the
        groups on stderr without it).
    **window_options
        The windowing keywords of :func:`~tscc.read_windows`: ``window``
        (required), ``step``, ``channels``, ``bandpass``, ``sampling_rate``,
        ``gaps`` and ``format``, with the same meaning. Without
        ``sampling_rate``, every selected trace of the archive must have the
        same rate (read from the file headers before anything is cut).

    Returns
    -------
    summary : StoreSummary
        Windows in the store and written by this call, groups, skipped files,
        duration. ``summary.already_complete`` is true when the store was
        complete and nothing was done.

    Raises
    ------
    ImportError
        If Zarr or ObsPy is not installed.
    FileNotFoundError
        If a path does not exist or a pattern matches no file.
    TypeError
        If ``source`` holds something else than paths, ``window`` is missing
        or a keyword is not one of read_windows' windowing options.
    ValueError
        If an option is invalid, no station has all of ``channels``, the
        traces have different sampling rates and ``sampling_rate`` is not
        given, ``store`` exists but is not a tscc windows store, or it was
        written with other options or input files.

    Warns
    -----
    UserWarning
        For each file that cannot be read, or whose group cannot be cut
        (e.g. its traces cannot be merged); the file is skipped and recorded
        in the store's ``skipped_files`` attribute, the rest is written.

    See Also
    --------
    open_windows : The windows of a store, as a lazy Dask array.
    tscc.read_windows : The same windows, in memory.

    Notes
    -----
    **Groups.** The headers of every file are read first. Two files are in the
    same group when they hold data of the same station (network, station,
    location and the band and instrument codes of the channel, e.g.
    ``XX.STA..HH``; with ``channels=None`` the full SEED id) and either the
    midpoints of their time spans fall on the same UTC day or their spans
    overlap by more than half of the shorter one; groups are the connected
    sets of files so linked. So in an SDS archive (one file per channel per
    day, ``NET.STA.LOC.CHA.D.YEAR.DAY``) the Z, N and E files of a station
    and day are one group, whatever the records that spill over midnight;
    hour files are grouped by day; a file holding several stations links the
    groups of all of them. A window that would cross a group boundary (e.g.
    midnight between two day files) is not cut, and a station lacking a
    component in a group is skipped there. Groups are cut in a fixed order
    (by station, then time) and appended in that order.

    **Resuming.** After a group's windows are written, the store's attributes
    record the count of windows and of groups done; an interrupted call
    (Ctrl-C, ``kill -9``, a crash) leaves at most one group half-written,
    which the next call with the same arguments truncates and writes again.
    Two calls must not write the same store at once.

    Examples
    --------
    >>> from tscc.io import open_windows, write_windows
    >>> summary = write_windows("sds/**/*.D.*", "windows.zarr", window=4.0,
    ...                         channels="ENZ", n_jobs=4)  # doctest: +SKIP
    >>> windows = open_windows("windows.zarr")  # doctest: +SKIP
    >>> windows.X  # a dask array  # doctest: +SKIP
    """
    zarr = _import_zarr()
    obspy = import_obspy()
    settings = WindowSettings.from_options(window_options, "write_windows")
    chunk_size = _check_positive_int(chunk_size, "chunk_size", allow_none=True)
    n_jobs = _check_n_jobs(n_jobs)
    paths = _expand_sources(source)
    path = os.path.normpath(os.fspath(store))
    start = time.perf_counter()

    group = _open_existing(zarr, path)
    resumed = group is not None
    if resumed:
        _check_same_input(group, settings.record(), paths, path)
    else:
        plan = _plan(obspy, paths, settings)
        group = _create_store(zarr, path, paths, settings.record(), plan, chunk_size)
    attrs = group.attrs.asdict()
    n_windows, skipped = _write_groups(group, attrs, paths, settings, n_jobs, progress)
    return StoreSummary(
        path=path,
        n_windows=n_windows,
        n_timestamps=attrs["n_timestamps"],
        n_channels=len(attrs["channels"]) or 1,
        sampling_rate=attrs["sampling_rate"],
        channels=attrs["channels"],
        n_groups=attrs["n_groups"],
        groups_written=attrs["n_groups"] - attrs["groups_done"],
        windows_written=n_windows - attrs["n_windows"],
        skipped_files=skipped,
        resumed=resumed,
        seconds=time.perf_counter() - start,
    )


def _write_groups(group, attrs, paths, settings, n_jobs, progress):
    """Cut and append the groups the store lacks, committing each.

    Returns the store's count of windows and its skipped files after them.
    """
    n_groups, done = attrs["n_groups"], attrs["groups_done"]
    skipped = dict(attrs["skipped_files"])
    n_windows = _truncate(group, attrs["n_windows"])
    file_group = group["file_group"][:]
    tasks = (
        (
            [paths[i] for i in np.flatnonzero(file_group == g)],
            settings,
            attrs["sampling_rate"],
        )
        for g in range(done, n_groups)
    )
    arrays = {name: group[name] for name in ("X", *PROVENANCE)}
    with JobProgress(
        n_groups, desc="windows", unit="group", enabled=progress, initial=done
    ) as bar:
        for g, result in enumerate(_results(tasks, n_jobs), start=done):
            n_windows = _append(arrays, n_windows, result)
            for name, reason in result["skipped"].items():
                skipped[name] = reason
                warnings.warn(reason, UserWarning, stacklevel=3)
            # The commit: written only once the group's windows all are.
            group.attrs.update(
                {"groups_done": g + 1, "n_windows": n_windows, "skipped_files": skipped}
            )
            bar.update(windows=n_windows)
    if n_windows == 0 and n_groups > done:
        warnings.warn(
            f"No window of {settings.window} s could be cut: every stretch of data "
            "is shorter than the window.",
            UserWarning,
            stacklevel=3,
        )
    return n_windows, skipped


def open_windows(store, *, allow_incomplete=False):
    """Open a windows store written by :func:`write_windows`.

    Parameters
    ----------
    store : str or path-like
        The store's directory.
    allow_incomplete : bool, default=False
        Open a store whose writing was interrupted, with the windows of the
        groups completed so far, instead of refusing it.

    Returns
    -------
    windows : SeismicWindows
        ``windows.X`` is a lazy :class:`dask.array.Array` over the store's
        ``X``, of shape ``(n_windows, n_timestamps, n_channels)`` and float32,
        with the store's chunks (along windows only); nothing is read until it
        is computed. ``source``, ``trace_id`` and ``starttime`` are NumPy
        arrays, read in full.

    Raises
    ------
    ImportError
        If Zarr or Dask is not installed.
    FileNotFoundError
        If ``store`` does not exist.
    ValueError
        If ``store`` is not a tscc windows store, or is incomplete and
        ``allow_incomplete`` is false.

    Examples
    --------
    >>> from tscc.io import open_windows
    >>> windows = open_windows("windows.zarr")  # doctest: +SKIP
    >>> first = windows.X[:1000].compute()  # a NumPy array  # doctest: +SKIP
    """
    zarr = _import_zarr()
    da = _import_dask_array()
    path = os.fspath(store)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such windows store: {path}")
    group = _open_existing(zarr, path, mode="r")
    if group is None:
        raise ValueError(f"{path} is an empty directory, not a tscc windows store.")
    attrs = group.attrs.asdict()
    n_windows = attrs["n_windows"]
    if attrs["groups_done"] < attrs["n_groups"] and not allow_incomplete:
        raise ValueError(
            f"The windows store {path} is incomplete ({attrs['groups_done']} of "
            f"{attrs['n_groups']} groups of files written): its writing was "
            "interrupted. Re-run write_windows (or 'tscc windows') with the same "
            "arguments to finish it, or pass allow_incomplete=True to open the "
            f"{n_windows} windows written so far."
        )
    X = da.from_zarr(group["X"])
    if X.shape[0] != n_windows:  # windows of a half-written group
        X = X[:n_windows]
    provenance = {
        # Zarr returns NumPy's variable-width StringDType (or objects), which
        # does not cast to the fixed-width str of read_windows directly.
        name: np.array(group[name][:n_windows].tolist(), dtype=str)
        for name in PROVENANCE
    }
    return SeismicWindows(
        X=X,
        sampling_rate=float(attrs["sampling_rate"]),
        channels=attrs["channels"],
        **provenance,
    )


# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------


def _import_zarr():
    try:
        import zarr
    except ImportError as exc:
        raise ImportError(
            f"Windows stores need Zarr, which is not installed: {_DASK_HINT}"
        ) from exc
    return zarr


def _import_dask_array():
    try:
        import dask.array as da
    except ImportError as exc:
        raise ImportError(
            f"Opening a windows store needs Dask, which is not installed: {_DASK_HINT}"
        ) from exc
    return da


def _check_positive_int(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}.")
    return int(value)


def _check_n_jobs(n_jobs):
    if isinstance(n_jobs, int | np.integer) and n_jobs == -1:
        return os.cpu_count() or 1
    return _check_positive_int(n_jobs, "n_jobs")


def _expand_sources(source):
    paths = []
    for item in source_items(source):
        if not isinstance(item, str | os.PathLike):
            raise TypeError(
                "write_windows reads files: source must be a path, glob pattern or "
                f"directory, or a list of them; got {type(item).__name__} (use "
                "read_windows for in-memory streams)."
            )
        paths.extend(expand_paths(item))
    return paths


# ---------------------------------------------------------------------------
# Planning: headers, groups, sampling rate
# ---------------------------------------------------------------------------


def _plan(obspy, paths, settings):
    """Read the headers, group the files and fix the rate and window length.

    Returns a dict: ``file_group`` (group of each file, -1 for none, groups
    numbered in processing order), ``n_groups``, ``sampling_rate``,
    ``n_timestamps``, ``channels`` and ``skipped_files``.
    """
    components = settings.components
    records, skipped = _header_records(obspy, paths, settings)
    roots = _link_files(len(paths), records)

    # Stations with every component in their group: the ones windows come of.
    present = {}
    for index, key, component, _, _, _ in records:
        present.setdefault((roots[index], key), set()).add(component)
    needed = set(components or "")
    complete = {pair for pair, found in present.items() if needed <= found}
    if not records:
        raise ValueError(
            f"None of the {len(paths)} files holds a trace"
            + (f" with one of the components {components!r}." if components else ".")
        )
    if not complete:
        ids = sorted({".".join(record[1]) + "?" for record in records})
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        raise ValueError(
            f"No station has all of the components {components!r} in one group of "
            f"files (traces read: {shown}); see write_windows' Notes on groups."
        )
    if settings.sampling_rate is not None:
        rate = float(settings.sampling_rate)
    else:
        rate = one_rate(
            {
                rate
                for index, key, _, rate, _, _ in records
                if (roots[index], key) in complete
            }
        )

    # Processing order: by station, then time, then file name.
    order = {}
    for index, key, _, _, start, _ in records:
        root = roots[index]
        if (root, key) in complete:
            order[root] = min(order.get(root, (key, start, index)), (key, start, index))
    numbers = {root: g for g, root in enumerate(sorted(order, key=order.get))}
    file_group = np.array(
        [numbers.get(roots[index], -1) for index in range(len(paths))], dtype=np.int32
    )
    return {
        "file_group": file_group,
        "n_groups": len(numbers),
        "sampling_rate": rate,
        "n_timestamps": settings.samples(rate)[0],
        "channels": components or "",
        "skipped_files": skipped,
    }


def _header_records(obspy, paths, settings):
    """One record per selected trace of the files' headers, and the skipped files.

    A record is ``(file index, station key, component, sampling rate, start,
    end)``, times as POSIX timestamps.
    """
    records, skipped = [], {}
    for index, path in enumerate(paths):
        try:
            traces = read_file(obspy, path, settings.format, headonly=True)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop all
            skipped[path] = _skip_reason(path, exc)
            warnings.warn(skipped[path], UserWarning, stacklevel=4)
            continue
        for trace in traces:
            selected = station_key(trace, settings.components)
            if selected is None:
                continue
            stats = trace.stats
            records.append(
                (
                    index,
                    *selected,
                    float(stats.sampling_rate),
                    stats.starttime.timestamp,
                    stats.endtime.timestamp,
                )
            )
    return records, skipped


def _link_files(n_files, records):
    """Group files (see write_windows' Notes): the root file of each file."""
    parent = list(range(n_files))

    def find(index):
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    def union(first, second):
        first, second = find(first), find(second)
        if first != second:
            parent[max(first, second)] = min(first, second)

    spans = {}
    for index, key, _, _, start, end in records:
        # one span per file and station, over all its traces
        old = spans.get((key, index))
        spans[(key, index)] = (
            (start, end) if old is None else (min(old[0], start), max(old[1], end))
        )
    by_key = {}
    for (key, index), (start, end) in spans.items():
        by_key.setdefault(key, []).append((start, end, index))
    for items in by_key.values():
        days = {}
        for start, end, index in items:
            day = math.floor((start + end) / 2 / _SECONDS_PER_DAY)
            union(index, days.setdefault(day, index))
        # Overlap by more than half of the shorter span: a sweep by start time.
        # Day files overlap their neighbours by a few records at most, so the
        # days of a station are not chained into one group.
        active = []
        for start, end, index in sorted(items):
            active = [item for item in active if item[1] > start]
            for other_start, other_end, other in active:
                overlap = min(end, other_end) - start
                if overlap > min(end - start, other_end - other_start) / 2:
                    union(index, other)
            active.append((start, end, index))
    return [find(index) for index in range(n_files)]


def _skip_reason(path, exc):
    text = " ".join(str(exc).split()) or type(exc).__name__
    if path not in text:
        text = f"{path}: {text}"
    return f"Skipped {text}"


# ---------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------


def _open_existing(zarr, path, mode="r+"):
    """The store at ``path``, or None where there is none (or an empty folder)."""
    if not os.path.exists(path):
        return None
    if os.path.isdir(path) and not os.listdir(path):
        return None
    not_store = (
        f"{path} exists and is not a tscc windows store (written by "
        "write_windows); choose another path"
    )
    if not os.path.isdir(path):
        raise ValueError(f"{not_store}.")
    try:
        group = zarr.open_group(path, mode=mode)
    except Exception as exc:  # noqa: BLE001 - zarr raises several kinds
        raise ValueError(f"{not_store} ({exc}).") from exc
    version = group.attrs.get("tscc_windows")
    if version is None:
        raise ValueError(f"{not_store}.")
    if version > STORE_FORMAT:
        raise ValueError(
            f"{path} is a windows store of a newer tscc (format {version}); "
            "upgrade tscc to read it."
        )
    return group


def _create_store(zarr, path, paths, record, plan, chunk_size):
    """Create an empty store; appears at ``path`` whole or not at all."""
    n_timestamps = plan["n_timestamps"]
    n_channels = len(plan["channels"]) or 1
    if chunk_size is None:
        chunk_size = max(1, _CHUNK_BYTES // (4 * n_timestamps * n_channels))
    partial = path + ".partial"
    # A leftover of a creation interrupted before the rename below.
    shutil.rmtree(partial, ignore_errors=True)
    group = zarr.open_group(partial, mode="w")
    group.create_array(
        "X",
        shape=(0, n_timestamps, n_channels),
        chunks=(chunk_size, n_timestamps, n_channels),
        dtype="float32",
        fill_value=float("nan"),
    )
    for name in PROVENANCE:
        group.create_array(name, shape=(0,), chunks=(_PROVENANCE_CHUNK,), dtype=str)
    n_files = len(paths)
    files = group.create_array(
        "files", shape=(n_files,), chunks=(max(1, n_files),), dtype=str
    )
    files[:] = np.array([os.path.abspath(name) for name in paths], dtype=str)
    file_group = group.create_array(
        "file_group", shape=(n_files,), chunks=(max(1, n_files),), dtype="int32"
    )
    file_group[:] = plan["file_group"]
    group.attrs.update(
        {
            "tscc_windows": STORE_FORMAT,
            "tscc_version": __version__,
            "settings": record,
            "sampling_rate": plan["sampling_rate"],
            "n_timestamps": n_timestamps,
            "channels": plan["channels"],
            "n_groups": plan["n_groups"],
            "groups_done": 0,
            "n_windows": 0,
            "skipped_files": plan["skipped_files"],
        }
    )
    if os.path.isdir(path):  # empty, checked by _open_existing
        os.rmdir(path)
    os.replace(partial, path)
    return zarr.open_group(path, mode="r+")


def _check_same_input(group, record, paths, path):
    stored = group.attrs["settings"]
    different = [
        f"{name}={stored.get(name)!r} (now {value!r})"
        for name, value in record.items()
        if stored.get(name) != value
    ]
    if different:
        raise ValueError(
            f"The windows store {path} was written with other options: "
            f"{', '.join(different)}. Re-run with the store's options to resume "
            "it, or write to another store."
        )
    files = [str(name) for name in group["files"][:]]
    now = [os.path.abspath(name) for name in paths]
    if files != now:
        extra = sorted(set(now) - set(files))
        missing = sorted(set(files) - set(now))
        detail = (
            f"{len(extra)} new file(s), e.g. {extra[0]}"
            if extra
            else f"{len(missing)} file(s) no longer given, e.g. {missing[0]}"
            if missing
            else "the same files in another order"
        )
        raise ValueError(
            f"The windows store {path} was written from other input files "
            f"({len(files)} files; now {len(now)}: {detail}). Give the same "
            "files to resume it, or write to another store."
        )


def _truncate(group, n_windows):
    """Cut the per-window arrays back to the committed count (resume)."""
    for name in ("X", *PROVENANCE):
        array = group[name]
        if array.shape[0] < n_windows:
            raise ValueError(
                f"The windows store is damaged: {name} holds {array.shape[0]} "
                f"windows, fewer than the {n_windows} recorded; write a new store."
            )
        if array.shape[0] > n_windows:  # a group interrupted while written
            array.resize((n_windows, *array.shape[1:]))
    return n_windows


def _append(arrays, n_windows, result):
    count = result["X"].shape[0]
    if not count:
        return n_windows
    end = n_windows + count
    for name, array in arrays.items():
        array.resize((end, *array.shape[1:]))
        array[n_windows:end] = result[name]
    return end


# ---------------------------------------------------------------------------
# Cutting groups
# ---------------------------------------------------------------------------


def _cut_file_group(paths, settings, rate):
    """Windows of one group of files: a dict of arrays and skipped files.

    Runs in a worker process with ``n_jobs > 1``: takes and returns only
    picklable values.
    """
    obspy = import_obspy()
    skipped = {}
    traces = []
    for path in paths:
        try:
            traces.extend(
                (trace, path) for trace in read_file(obspy, path, settings.format)
            )
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop all
            skipped[path] = _skip_reason(path, exc)
    columns = empty_columns()
    groups, _ = group_traces(traces, settings.components)
    if groups:
        try:
            columns, group_rate = cut_traces(obspy, groups, settings)
            if group_rate != rate:
                raise ValueError(
                    f"sampling rate {group_rate:g} Hz, not the store's {rate:g} Hz"
                )
        except ValueError as exc:
            # A group that cannot be cut (traces that do not merge, a rate or
            # a bandpass that does not fit) costs its files, not the archive.
            for path in paths:
                if path not in skipped:
                    skipped[path] = _skip_reason(
                        path, f"its group of {len(paths)} file(s) failed: {exc}"
                    )
            columns = empty_columns()
    shape = (settings.samples(rate)[0], settings.n_channels)
    return {**window_arrays(columns, shape, np.float32), "skipped": skipped}


def _results(tasks, n_jobs):
    """Results of ``_cut_file_group`` on the tasks, in task order.

    With ``n_jobs > 1``, ``n_jobs`` groups are cut at a time in processes and
    the next one is submitted as soon as the oldest is taken, so memory holds
    at most ``n_jobs + 1`` groups whatever the size of the archive.
    """
    if n_jobs == 1:
        for task in tasks:
            yield _cut_file_group(*task)
        return
    pool = ProcessPoolExecutor(max_workers=n_jobs)
    try:
        pending = deque(
            pool.submit(_cut_file_group, *task) for task in islice(tasks, n_jobs)
        )
        while pending:
            result = pending.popleft().result()
            for task in islice(tasks, 1):
                pending.append(pool.submit(_cut_file_group, *task))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
