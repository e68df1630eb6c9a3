"""A report of a clustering that a seismologist reads: an HTML page and its figures.

:func:`write_report` turns the predictions of a model (a store written by
``tscc predict --out predictions.zarr``, or a labels CSV with provenance)
into a folder holding ``index.html`` and the PNG figures it shows: when and
where each cluster occurs (a timeline per station, daily and weekly
rhythms), what each cluster looks like (its most typical waveforms, its mean
waveform and mean amplitude spectrum), how sure the assignments are, and the
model's settings and the data's provenance. The page needs no script and no
network: open it in any browser, copy the folder anywhere.

The figures are those of :mod:`tscc.plotting`, which needs matplotlib
(``pip install "tscc[plot]"``); a predictions store needs Zarr
(``"tscc[dask]"``).
"""

import csv
import datetime
import html
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._version import __version__
from .io.windows import station_codes, window_times

__all__ = ["ReportSummary", "write_report"]

# Rows of the features read at a time to rank windows by their distance to
# the centre: bounded memory, whatever the number of windows.
_FEATURE_BLOCK = 2**16
# Stations drawn as timelines, at most: a page of hundreds of timelines is
# not read; the table lists every station.
_MAX_TIMELINES = 40


@dataclass(frozen=True)
class ReportSummary:
    """What :func:`write_report` wrote.

    Attributes
    ----------
    index : str
        Path of the report's page, ``DIR/index.html``.
    n_windows : int
        Windows the predictions hold.
    n_clusters : int
        Clusters of the model.
    stations : tuple of str
        Stations (``NET.STA``) found in the trace ids, in order.
    figures : tuple of str
        File names of the figures, beside the page.
    waveforms_read : int
        Windows read from the windows store for the waveform figures (0
        without a store).
    seconds : float
        Duration of the call.
    """

    index: str
    n_windows: int
    n_clusters: int
    stations: tuple = ()
    figures: tuple = ()
    waveforms_read: int = 0
    seconds: float = 0.0


@dataclass
class _Predictions:
    """Labels and what came with them, from a store or a CSV file."""

    path: str
    kind: str
    labels: np.ndarray
    memberships: object = None  # ndarray or a Zarr array
    features: object = None  # ndarray or a Zarr array
    metadata: dict = field(default_factory=dict)
    rows: object = None  # rows of the windows store, when not 0..n-1
    attrs: dict = field(default_factory=dict)
    station: object = None  # NET.STA of each window, from its trace id

    def __post_init__(self):
        if "trace_id" in self.metadata:
            self.station = station_codes(self.metadata["trace_id"])


def write_report(
    predictions,
    out,
    *,
    windows=None,
    model=None,
    bin="auto",
    n_examples=5,
    n_mean=300,
    channel=None,
    title=None,
    random_state=0,
    progress=False,
):
    """Write an HTML report of a clustering into the folder ``out``.

    Parameters
    ----------
    predictions : str or path-like
        A predictions store (a ``.zarr`` folder written by ``tscc predict``
        or :func:`tscc.dask.write_predictions`: ``labels``, and
        ``memberships``, ``features`` and provenance where written), or a CSV
        file with a ``label`` column (``tscc fit --labels``, ``tscc
        predict --out FILE.csv``), with ``index``, ``trace_id``,
        ``starttime`` and ``proba_*`` columns where written.
    out : str or path-like
        Folder to write ``index.html`` and the figures into; created if
        missing. Files of an earlier report there are replaced.
    windows : str or path-like, default=None
        The windows store the predictions are of, for the waveform figures;
        ``None`` takes the one a predictions store names, if it still exists.
        Windows are normalised as the predictions store says they were
        (``tscc predict``'s ``--normalize``; max-abs otherwise).
    model : str or path-like, default=None
        The model file, for its settings and centres; ``None`` takes the one
        a predictions store names, if it still exists.
    bin : {"auto", "hour", "day"}, default="auto"
        Width of the timelines' bins: per hour over up to 14 days, per day
        beyond (see :func:`tscc.plotting.plot_cluster_timeline`).
    n_examples : int, default=5
        Most typical windows shown per cluster: those nearest its centre in
        feature space (with features), else of the highest membership.
    n_mean : int, default=300
        Windows per cluster, drawn at random with ``random_state``, over
        which the mean waveform and spectrum are taken; the store is read at
        those rows only, each chunk at most once.
    channel : int or str, default=None
        Channel of the waveform figures: an index, or a component letter of
        the store (``"Z"``); ``None`` is ``"Z"`` where the store has it,
        else the first channel.
    title : str, default=None
        Title of the page; ``None`` names the predictions.
    random_state : int, default=0
        Seed of the windows drawn for the means.
    progress : bool, default=False
        Print what is being done to stderr.

    Returns
    -------
    summary : ReportSummary
        The page, what it covers and the figures written.

    Raises
    ------
    FileNotFoundError
        If ``predictions``, ``windows`` or ``model`` does not exist.
    ImportError
        If matplotlib, or Zarr for a store, is not installed.
    ValueError
        If the predictions hold no labels or do not match the windows store
        or the model (another number of windows or clusters).

    See Also
    --------
    tscc.plotting : The figures of the report, one function each.

    Examples
    --------
    >>> from tscc.report import write_report
    >>> summary = write_report("predictions.zarr", "report")  # doctest: +SKIP
    >>> summary.index  # doctest: +SKIP
    'report/index.html'
    """
    started = time.perf_counter()
    say = _Say(progress)
    import matplotlib

    from . import plotting

    if n_examples < 1 or n_mean < 1:
        raise ValueError(
            f"n_examples and n_mean must be at least 1, got {n_examples} and {n_mean}."
        )
    if bin not in plotting.TIME_BINS:
        raise ValueError(f'bin must be "auto", "hour" or "day", got {bin!r}.')
    found = _read_predictions(predictions)
    if found.memberships is not None:  # read once: three parts use them
        found.memberships = np.asarray(found.memberships[:], dtype=np.float64)
    say(f"Read {found.labels.size} labels from {found.path}.")
    fitted = _load_model(model, found)
    n_clusters = _n_clusters(found, fitted)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    figures = []
    sections = []
    # Agg: the report draws into files, whatever the caller's backend; the
    # previous backend is put back.
    backend = matplotlib.get_backend()
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    try:
        sections.append(_overview(found, n_clusters, fitted))
        stations = _stations(found)
        if found.memberships is not None:
            ax = plotting.plot_membership_histogram(found.memberships, found.labels)
            figures.append(_save(plt, ax.figure, folder, "certainty.png"))
            sections.append(_certainty_section(figures[-1], found, n_clusters))
        times = found.metadata.get("starttime")
        if times is not None:
            say(f"Drawing the timelines of {min(len(stations), _MAX_TIMELINES)} "
                "station(s).")  # fmt: skip
            sections.append(
                _time_sections(
                    plotting, plt, folder, figures, found, stations, n_clusters, bin
                )
            )
        window_store = _windows_store(windows, found)
        waveforms_read = 0
        if window_store is not None:
            waveforms_read = _waveform_sections(
                plotting, plt, folder, figures, sections, found, fitted,
                window_store, n_clusters, n_examples, n_mean, channel,
                random_state, say,
            )  # fmt: skip
        else:
            sections.append(
                _section(
                    "What each cluster looks like",
                    "<p>No windows store was given or found, so the waveforms "
                    "are not shown: pass <code>--windows STORE</code> "
                    "(<code>windows=</code>).</p>",
                )
            )
        sections.append(_provenance(found, fitted, window_store))
    finally:
        plt.close("all")
        matplotlib.use(backend, force=True)
    heading = title or f"Clusters of {Path(found.path).name}"
    index = folder / "index.html"
    index.write_text(_page(heading, sections), encoding="utf-8")
    say(f"Report written to {index}.")
    return ReportSummary(
        index=str(index),
        n_windows=int(found.labels.size),
        n_clusters=n_clusters,
        stations=tuple(stations),
        figures=tuple(figures),
        waveforms_read=waveforms_read,
        seconds=time.perf_counter() - started,
    )


class _Say:
    def __init__(self, enabled):
        self.enabled = enabled

    def __call__(self, text):
        if self.enabled:
            print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def _read_predictions(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such predictions store or labels file: {path}")
    if os.path.isdir(path):
        return _read_store(path)
    if Path(path).suffix.lower() != ".csv":
        raise ValueError(
            f"{path} is neither a predictions store (a .zarr folder written by "
            "'tscc predict') nor a labels CSV file."
        )
    return _read_csv(path)


def _read_store(path):
    try:
        import zarr
    except ImportError as exc:
        raise ImportError(
            'Reading a predictions store needs Zarr: pip install "tscc[dask]".'
        ) from exc
    try:
        group = zarr.open_group(path, mode="r")
        names = set(group.array_keys())
    except Exception as exc:  # noqa: BLE001 - zarr raises several kinds
        raise ValueError(f"{path} is not a predictions store ({exc}).") from exc
    if "labels" not in names:
        raise ValueError(
            f"{path} holds no labels: it is not a predictions store written by "
            "'tscc predict --out FILE.zarr' (a features store of 'tscc "
            "transform' has none)."
        )
    metadata = {
        name: np.array(group[name][:].tolist(), dtype=str)
        for name in ("source", "trace_id", "starttime")
        if name in names
    }
    return _Predictions(
        path=path,
        kind="store",
        labels=np.asarray(group["labels"][:], dtype=np.int64),
        memberships=group["memberships"] if "memberships" in names else None,
        features=group["features"] if "features" in names else None,
        metadata=metadata,
        attrs=group.attrs.asdict(),
    )


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        rows = list(reader)
    if not header or "label" not in header:
        raise ValueError(f"{path} has no 'label' column: it is not a labels CSV file.")
    if not rows:
        raise ValueError(f"{path} holds no labels.")
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    try:
        labels = np.array(columns["label"], dtype=np.int64)
        memberships = _numeric_columns(columns, header, "proba_")
        features = _numeric_columns(columns, header, "feature_")
        index = (
            np.array(columns["index"], dtype=np.int64) if "index" in columns else None
        )
    except ValueError as exc:
        raise ValueError(f"{path} holds a value that is not a number: {exc}") from None
    metadata = {
        name: np.array(columns[name], dtype=str)
        for name in ("source", "trace_id", "starttime")
        if name in columns
    }
    return _Predictions(
        path=path,
        kind="csv",
        labels=labels,
        memberships=memberships,
        features=features,
        metadata=metadata,
        rows=index,
    )


def _numeric_columns(columns, header, prefix):
    names = [name for name in header if name.startswith(prefix)]
    if not names:
        return None
    return np.array([columns[name] for name in names], dtype=np.float64).T


def _load_model(model, found):
    from .estimator import TSCCClusterer

    if model is None:
        model = found.attrs.get("model")
        if model is None or not os.path.isfile(model):
            return None
    elif not os.path.isfile(model):
        raise FileNotFoundError(f"No such model file: {model}")
    return TSCCClusterer.load(model, device="cpu")


def _n_clusters(found, fitted):
    n_found = int(found.labels.max()) + 1
    expected = None
    if fitted is not None:
        expected = int(fitted.n_clusters)
    elif "n_clusters" in found.attrs:
        expected = int(found.attrs["n_clusters"])
    elif found.memberships is not None:
        expected = int(found.memberships.shape[1])
    if expected is not None and n_found > expected:
        raise ValueError(
            f"The predictions hold label {n_found - 1}, but the model has "
            f"{expected} clusters: they are not of this model."
        )
    if found.labels.min() < 0:
        raise ValueError("The predictions hold a negative label.")
    return expected or n_found


def _stations(found):
    """``NET.STA`` of the windows' trace ids, in order of appearance."""
    if found.station is None:
        return []
    _, first = np.unique(found.station, return_index=True)
    return [str(found.station[i]) for i in np.sort(first)]


def _windows_store(windows, found):
    if windows is not None:
        path = os.fspath(windows)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such windows store: {path}")
        return path
    path = found.attrs.get("windows_store")
    return path if path and os.path.isdir(path) else None


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


def _overview(found, n_clusters, fitted):
    sizes = np.bincount(found.labels, minlength=n_clusters)
    n = found.labels.size
    certainty = None
    if found.memberships is not None:
        highest = found.memberships.max(axis=1)
        certainty = [
            float(np.median(highest[found.labels == k])) if sizes[k] else np.nan
            for k in range(n_clusters)
        ]
    times = found.metadata.get("starttime")
    station_of = found.station
    rows = []
    for k in range(n_clusters):
        cells = [f"{k}", f"{sizes[k]:,}", f"{100 * sizes[k] / n:.1f} %"]
        if certainty is not None:
            cells.append("–" if np.isnan(certainty[k]) else f"{certainty[k]:.2f}")
        if station_of is not None:
            cells.append(f"{np.unique(station_of[found.labels == k]).size}")
        rows.append(cells)
    head = ["cluster", "windows", "share"]
    if certainty is not None:
        head.append("median highest membership")
    if station_of is not None:
        head.append("stations")
    facts = [f"<b>{n:,}</b> windows in <b>{n_clusters}</b> clusters"]
    if station_of is not None:
        facts.append(f"from <b>{np.unique(station_of).size}</b> station(s)")
    if times is not None:
        parsed = window_times(times)
        facts.append(f"between {parsed.min()} and {parsed.max()} UTC")
    if sizes.min() == 0:
        empty = ", ".join(str(k) for k in np.flatnonzero(sizes == 0))
        facts.append(f"cluster(s) {empty} hold no window")
    body = f"<p>{'; '.join(facts)}.</p>" + _table(head, rows)
    return _section("Clusters", body)


def _certainty_section(figure, found, n_clusters):
    highest = found.memberships.max(axis=1)
    unsure = float(np.mean(highest < 0.5 + 0.5 / n_clusters))
    text = (
        "<p>Each window's highest fuzzy membership: 1 is a window that "
        f"belongs to its cluster alone, {1 / n_clusters:.2f} one equally near "
        f"every centre. {100 * unsure:.1f} % of the windows lie below "
        f"{0.5 + 0.5 / n_clusters:.2f}, halfway between those.</p>"
    )
    return _section("How sure the assignments are", text + _image(figure))


def _time_sections(plotting, plt, folder, figures, found, stations, n_clusters, bin):
    times = found.metadata["starttime"]
    width = plotting.time_bin(window_times(times), bin)
    parts = []
    if stations:
        station_of = found.station
        shown = stations[:_MAX_TIMELINES]
        for number, station in enumerate(shown):
            rows = station_of == station
            fig = plotting.plot_cluster_timeline(
                times[rows], found.labels[rows], n_clusters=n_clusters, bin=width,
                title=station,
            )  # fmt: skip
            figures.append(_save(plt, fig, folder, f"timeline_{number:03d}.png"))
            parts.append(f"<h3>{html.escape(station)}</h3>" + _image(figures[-1]))
        if len(stations) > len(shown):
            parts.append(
                f"<p>{len(stations) - len(shown)} more station(s) are not drawn; "
                "the table above counts them.</p>"
            )
    else:
        fig = plotting.plot_cluster_timeline(
            times, found.labels, n_clusters=n_clusters, bin=width
        )
        figures.append(_save(plt, fig, folder, "timeline_000.png"))
        parts.append(_image(figures[-1]))
    fig = plotting.plot_cluster_rhythms(times, found.labels, n_clusters=n_clusters)
    figures.append(_save(plt, fig, folder, "rhythms.png"))
    intro = (
        f"<p>Windows of each cluster per {width}, one row per cluster, for "
        "each station: bursts, gaps in the recording and slow changes.</p>"
    )
    rhythm = (
        "<h3>Daily and weekly rhythms (all stations)</h3><p>For each hour of "
        "the day and each day of the week, the share of that hour's windows "
        "in each cluster: a flat line is a cluster without rhythm; cultural "
        "noise rises by day and on working days.</p>" + _image(figures[-1])
    )
    return _section(
        "When and where each cluster occurs", intro + "".join(parts) + rhythm
    )


def _waveform_sections(
    plotting, plt, folder, figures, sections, found, fitted, store, n_clusters,
    n_examples, n_mean, channel, random_state, say,
):  # fmt: skip
    from .io import open_series

    normalize = found.attrs.get("normalize", "maxabs")
    series = open_series(store, normalize=normalize)
    n_windows = series.X.shape[0]
    window_rows = (
        np.arange(found.labels.size) if found.rows is None else np.asarray(found.rows)
    )
    if window_rows.size and (window_rows.min() < 0 or window_rows.max() >= n_windows):
        raise ValueError(
            f"The predictions name window {int(window_rows.max())}, but the "
            f"windows store {store} holds {n_windows}: they are not of this store."
        )
    if found.rows is None and found.labels.size != n_windows:
        raise ValueError(
            f"The predictions hold {found.labels.size} labels, but the windows "
            f"store {store} holds {n_windows} windows: they are not of this store."
        )
    ranking, how = _typicality(found, fitted, n_clusters)
    chosen = _chosen_rows(found.labels, ranking, n_clusters, n_examples, n_mean,
                          random_state)  # fmt: skip
    say(f"Reading {chosen.size} windows of {store} for the waveforms.")
    rows = window_rows[chosen]
    order = np.argsort(rows, kind="stable")
    X = np.empty((chosen.size, *series.X.shape[1:]), dtype=np.float32)
    # in the store's order, so that every chunk is read once
    X[order] = np.asarray(series.X[rows[order]])
    labels = found.labels[chosen]
    ranks = np.full(chosen.size, np.inf)
    if ranking is not None:
        ranks = ranking[chosen]
    sizes = np.bincount(found.labels, minlength=n_clusters)
    attrs = _store_attrs(store)
    channel_index, channel_name = _channel(channel, series, attrs)
    rate = float(attrs["sampling_rate"]) if attrs.get("sampling_rate") else None
    fig = plotting.plot_cluster_waveforms(
        X, labels, n_examples=n_examples, channel=channel_index,
        sampling_rate=rate, ranking=ranks if ranking is not None else None,
        random_state=random_state, sizes=sizes,
    )  # fmt: skip
    figures.append(_save(plt, fig, folder, "waveforms.png"))
    waveforms = _image(figures[-1])
    ax = plotting.plot_cluster_spectra(X, labels, sampling_rate=rate,
                                       channel=channel_index, sizes=sizes)  # fmt: skip
    figures.append(_save(plt, ax.figure, folder, "spectra.png"))
    text = (
        f"<p>Channel {html.escape(channel_name)}, windows normalised as they "
        f"were clustered ({html.escape(normalize)}). Left: the {n_examples} "
        f"most typical windows of each cluster ({how}). Right: the mean "
        "waveform with a band of one standard deviation, and the mean absolute "
        "amplitude, an envelope that survives the random polarities the mean "
        f"averages away; over up to {n_mean} windows of each cluster drawn at "
        "random.</p>"
    )
    sections.append(
        _section(
            "What each cluster looks like",
            text
            + waveforms
            + "<h3>Mean amplitude spectrum</h3><p>Over the same windows, "
            "Hann-tapered.</p>" + _image(figures[-1]),
        )
    )
    return int(chosen.size)


def _typicality(found, fitted, n_clusters):
    """A score per window, lowest for the most typical, and how it is made."""
    labels = found.labels
    if found.features is not None:
        if fitted is not None:
            centers = np.asarray(fitted.cluster_centers_, dtype=np.float64)
            how = "nearest to its centre in feature space"
        else:
            centers = _feature_means(found.features, labels, n_clusters)
            how = "nearest to the mean of its features"
        scores = np.empty(labels.size)
        for start in range(0, labels.size, _FEATURE_BLOCK):
            stop = min(start + _FEATURE_BLOCK, labels.size)
            block = np.asarray(found.features[start:stop], dtype=np.float64)
            scores[start:stop] = ((block - centers[labels[start:stop]]) ** 2).sum(1)
        return scores, how
    if found.memberships is not None:
        own = found.memberships[np.arange(labels.size), labels]
        return -own, "of the highest membership"
    return None, "drawn at random: the predictions hold no features or memberships"


def _feature_means(features, labels, n_clusters):
    sums = np.zeros((n_clusters, features.shape[1]))
    for start in range(0, labels.size, _FEATURE_BLOCK):
        stop = min(start + _FEATURE_BLOCK, labels.size)
        np.add.at(sums, labels[start:stop], np.asarray(features[start:stop]))
    counts = np.bincount(labels, minlength=n_clusters)[:, None]
    return sums / np.maximum(counts, 1)


def _chosen_rows(labels, ranking, n_clusters, n_examples, n_mean, random_state):
    """Sorted rows: each cluster's most typical and a random sample of it."""
    rng = np.random.default_rng(random_state)
    chosen = []
    for cluster in range(n_clusters):
        members = np.flatnonzero(labels == cluster)
        if not members.size:
            continue
        chosen.append(rng.choice(members, min(n_mean, members.size), replace=False))
        if ranking is not None:
            best = np.argsort(ranking[members], kind="stable")[:n_examples]
            chosen.append(members[best])
    return np.unique(np.concatenate(chosen)) if chosen else np.array([], dtype=int)


def _channel(channel, series, attrs):
    n_channels = 1 if series.X.ndim == 2 else series.X.shape[2]
    letters = attrs.get("channels", "") or ""
    if channel is None:
        index = letters.index("Z") if "Z" in letters else 0
    elif isinstance(channel, str) and not channel.isdigit():
        if channel not in letters or len(channel) != 1:
            raise ValueError(
                f"channel={channel!r} is not a component of the windows store "
                f"(its channels: {letters or 'not named'})."
            )
        index = letters.index(channel)
    else:
        index = int(channel)
        if not 0 <= index < n_channels:
            raise ValueError(
                f"channel={index} is out of range for {n_channels} channel(s)."
            )
    name = letters[index] if len(letters) == n_channels else str(index)
    return index, name


def _store_attrs(store):
    import zarr

    return zarr.open_group(store, mode="r").attrs.asdict()


def _provenance(found, fitted, store):
    parts = []
    if fitted is not None:
        params = fitted.get_params()
        rows = [[name, html.escape(repr(value))] for name, value in params.items()]
        trained = [
            ["trained on", f"{getattr(fitted, 'max_samples_', '?'):,} windows"],
            ["encoder depth", f"{getattr(fitted, 'depth_', '?')}"],
            ["precision", f"{getattr(fitted, 'precision_', '?')}"],
        ]
        parts.append("<h3>Model</h3>" + _table(["fitted", "value"], trained))
        parts.append(_table(["parameter", "value"], rows, escape=False))
    else:
        parts.append("<p>The model file was not given or found.</p>")
    facts = [["predictions", found.path]]
    for name in ("model", "windows_store", "normalize", "tscc_version"):
        if name in found.attrs:
            facts.append([name.replace("_", " "), str(found.attrs[name])])
    parts.append("<h3>Predictions</h3>" + _table(["", ""], facts))
    if store is not None:
        attrs = _store_attrs(store)
        settings = attrs.get("settings", {})
        rows = [[name, repr(value)] for name, value in settings.items()]
        rows += [
            ["sampling rate", f"{attrs.get('sampling_rate')} Hz"],
            ["windows", f"{attrs.get('n_windows', '?'):,}"],
            ["groups of files", f"{attrs.get('n_groups', '?')}"],
            ["skipped files", f"{len(attrs.get('skipped_files', {}))}"],
            ["written by", f"tscc {attrs.get('tscc_version', '?')}"],
        ]
        parts.append(
            f"<h3>Windows store {html.escape(store)}</h3>" + _table(["", ""], rows)
        )
    return _section("Settings and provenance", "".join(parts))


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
       margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em;
     margin-top: 2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; }
th { background: #f4f4f4; }
img { max-width: 100%; height: auto; display: block; margin: 0.6em 0; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _page(title, sections):
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f'<p class="meta">Written by tscc {__version__} on {stamp}.</p>\n'
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def _section(heading, body):
    return f"<section>\n<h2>{html.escape(heading)}</h2>\n{body}\n</section>"


def _table(head, rows, escape=True):
    quote = html.escape if escape else str
    cells = "".join(f"<th>{html.escape(name)}</th>" for name in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{quote(str(value))}</td>" for value in row) + "</tr>"
        for row in rows
    )
    return f"<table>\n<tr>{cells}</tr>\n{body}\n</table>"


def _image(name):
    alt = html.escape(Path(name).stem.replace("_", " "))
    return f'<img src="{html.escape(name)}" alt="{alt}">'


def _save(plt, fig, folder, name):
    fig.savefig(folder / name, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return name
