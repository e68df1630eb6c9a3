"""
Cluster a folder of miniSEED recordings
=======================================

Real data come as continuous recordings in files, not as an array of
windows. This example writes a small archive of three-component miniSEED
files with ObsPy (synthetic, so that the truth is known), then does what one
would do with a real archive:

1. cut every station's recording into 5 s windows with :func:`tscc.read_windows`,
   which reads a whole folder, merges recordings split over several files,
   stacks the E, N and Z channels of each station and band-pass filters them;
2. normalise each window and cluster the windows with
   :class:`~tscc.TSCCClusterer`;
3. report every window's cluster with its **provenance**: the file it came
   from, the SEED trace id and the start time, which lead back to the
   waveform in the original files.

The ``tscc fit`` command does the same from the shell (``docs/cli.md``). ObsPy
is an optional dependency (``pip install "tscc[seismic]"``); without it the
example prints a message and stops. With ``TSCC_QUICK=1`` (as in the
documentation build) the archive is smaller (4 stations and 2 minutes instead
of 8 and 10) and the training shortened as ``tscc demo --quick`` is (a
4-block encoder, batches of 16, 4 + 2 epochs).
"""

import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans

from tscc import (
    TSCCClusterer,
    WaveformNormalizer,
    clustering_scores,
    make_microseismic,
    read_windows,
)
from tscc.plotting import plot_cluster_waveforms

try:
    from obspy import Stream, Trace, UTCDateTime, read
except ImportError:
    print(
        "This example writes and reads miniSEED files with ObsPy, which is not "
        'installed: pip install "tscc[seismic]". Nothing else to do.'
    )
    raise SystemExit(0) from None

QUICK = os.environ.get("TSCC_QUICK", "0") not in ("", "0")

# %%
# A synthetic archive
# -------------------
# Each station records a continuous stretch of 100 Hz three-component data,
# made of consecutive 5 s segments from :func:`~tscc.make_microseismic`:
# background noise, P/S events and emergent signals, in counts (int32, as a
# digitiser writes them). Every station's recording is saved as two files
# split mid-window, the way an archive of hourly or daily files cuts through
# events.

n_stations = 4 if QUICK else 8
minutes = 2 if QUICK else 10
window_s, rate = 5.0, 100.0
per_station = int(minutes * 60 / window_s)
n_timestamps = int(window_s * rate)

segments, classes, class_names = make_microseismic(
    n_stations * per_station,
    n_timestamps,
    n_channels=3,  # E, N, Z
    n_classes=3,
    noise_fraction=0.4,
    normalize=False,  # noise of unit standard deviation, events on top
    random_state=0,
    return_names=True,
)
counts = np.round(segments * 400.0).astype(np.int32)

archive = tempfile.TemporaryDirectory(prefix="tscc-archive-")
folder = Path(archive.name)
start = UTCDateTime("2024-03-01T00:00:00")
truth = {}  # (station, window start) -> class, for scoring only
for s in range(n_stations):
    station = f"ST{s + 1:02d}"
    rows = slice(s * per_station, (s + 1) * per_station)
    recording = counts[rows].reshape(-1, 3)  # the segments back to back
    for i, label in enumerate(classes[rows]):
        truth[station, str(start + i * window_s)] = label
    split = recording.shape[0] * 3 // 7  # not on a window boundary
    for part, (lo, hi) in enumerate([(0, split), (split, recording.shape[0])]):
        traces = [
            Trace(
                np.ascontiguousarray(recording[lo:hi, c]),
                header={
                    "network": "XX",
                    "station": station,
                    "location": "",
                    "channel": f"HH{component}",
                    "sampling_rate": rate,
                    "starttime": start + lo / rate,
                },
            )
            for c, component in enumerate("ENZ")
        ]
        Stream(traces).write(folder / f"XX.{station}.part{part}.mseed", format="MSEED")

files = sorted(p.name for p in folder.iterdir())
print(f"{len(files)} files in {folder.name}/: {', '.join(files[:4])}, ...")

# %%
# Windows from the folder
# -----------------------
# ``channels="ENZ"`` stacks the three components of each station into one
# 3-channel series (stations missing a component would be skipped). The two
# files of a station are merged before windowing, so the window that straddles
# the split is kept whole. The band-pass (1-30 Hz, zero-phase) removes the
# slow drift and the highest frequencies; ``step`` equal to ``window`` gives
# back-to-back windows, a smaller step overlapping ones.

started = time.perf_counter()
windows = read_windows(folder, window=window_s, channels="ENZ", bandpass=(1.0, 30.0))
print(
    f"{len(windows)} windows of shape {windows.X.shape[1:]} at "
    f"{windows.sampling_rate:g} Hz, channels {windows.channels}, read in "
    f"{time.perf_counter() - started:.1f} s"
)
print("trace ids:", sorted(set(windows.trace_id.tolist())))

# %%
# Cluster
# -------
# The windows are in counts, and events are far stronger than noise: each
# window is demeaned, detrended and scaled to a peak of 1 (over each channel)
# first, so the clusters follow the waveform shapes, not the amplitudes.
# ``depth="auto"`` sizes the encoder to the 500-sample windows.

X = WaveformNormalizer().fit_transform(windows.X)
if QUICK:
    settings = dict(
        depth=4,
        hidden_dims=32,
        batch_size=16,
        lr=2e-3,
        pretrain_epochs=4,
        finetune_epochs=2,
    )
else:
    settings = dict(depth="auto", pretrain_epochs=10, finetune_epochs=10)
clusterer = TSCCClusterer(n_clusters=3, random_state=0, **settings)
started = time.perf_counter()
labels = clusterer.fit_predict(X)
print(f"TSCC fit on {X.shape[0]} windows: {time.perf_counter() - started:.1f} s")

# %%
# Labels with provenance
# ----------------------
# Row ``i`` of ``windows.source``, ``windows.trace_id`` and
# ``windows.starttime`` describes window ``i``; a window that spans two files
# names both, joined by ``;``. (``windows.metadata()`` returns the three
# arrays as a dict, ready for ``pandas.DataFrame`` or a CSV file.)


def short(source):
    return ";".join(Path(path).name for path in source.split(";"))


print(f"{'file':<40}{'trace id':<15}{'window start':<30}{'cluster':>7}  class")
straddling = [i for i, source in enumerate(windows.source) if ";" in source]
for i in [*range(8), *straddling[:2]]:
    station = windows.trace_id[i].split(".")[1]
    true_class = class_names[truth[station, windows.starttime[i]]]
    print(
        f"{short(windows.source[i]):<40}{windows.trace_id[i]:<15}"
        f"{windows.starttime[i]:<30}{labels[i]:>7}  {true_class}"
    )

# %%
# The labels lead back to the recording: read the file(s), select the trace
# id (``HH?`` matches the three components) and slice the window's time span.

i = straddling[0]
stream = Stream()
for path in windows.source[i].split(";"):
    stream += read(path)
begin = UTCDateTime(windows.starttime[i])
piece = stream.select(id=windows.trace_id[i]).merge(method=1)
piece = piece.slice(begin, begin + window_s - 1 / rate)
print(piece)

# %%
# How good is the clustering?
# ---------------------------
# The archive is synthetic, so each window's class is known and the clusters
# can be scored (the fit never saw the classes), next to K-means on the same
# normalised windows (the three channels side by side).

y = np.array(
    [
        truth[trace_id.split(".")[1], starttime]
        for trace_id, starttime in zip(windows.trace_id, windows.starttime, strict=True)
    ]
)
kmeans_labels = KMeans(3, n_init=10, random_state=0).fit_predict(X.reshape(len(X), -1))
print(f"{'method':<28}{'ACC':>7}{'NMI':>7}{'ARI':>7}")
for name, predicted in (("TSCC", labels), ("K-means on the windows", kmeans_labels)):
    s = clustering_scores(y, predicted)
    print(f"{name:<28}{s['acc']:7.3f}{s['nmi']:7.3f}{s['ari']:7.3f}")
for cluster in range(clusterer.n_clusters):
    members = Counter(class_names[y[labels == cluster]].tolist())
    print(f"cluster {cluster}: {dict(members.most_common())}")

# %%
# The waveforms of each cluster, vertical channel (index 2 of ``"ENZ"``).

plot_cluster_waveforms(X, labels, channel=2, sampling_rate=windows.sampling_rate)
plt.show()

archive.cleanup()
