"""
Scaling out: a windows store, a sample fit and Dask
===================================================

This is the **small version of the recipe** of the
:doc:`Scaling out </scaling>` page, the one for archives larger than memory,
run end to end on a few minutes of
synthetic miniSEED recordings so that it takes seconds:

1. cut the archive once into a windows store on disk (Zarr) with
   :func:`tscc.io.write_windows`, resumably, one group of files at a time;
2. open the store lazily with :func:`tscc.io.open_windows` and fit a
   :class:`~tscc.TSCCClusterer` on a random sample of it (``max_samples``);
3. save the model and label every window with :func:`tscc.dask.predict_all`
   on a Dask ``LocalCluster``, block by block, and check that the labels
   equal those of the model's own ``predict``.

At real size the same three steps are commands (see
:doc:`Scaling out </scaling>` and :doc:`/cli`)::

    tscc windows 'archive/**/*.D.*' --out windows.zarr --window 4 --step 2 \\
        --channels ENZ --bandpass 1 20 --jobs 4
    # fit on a sample in Python (below), then save the model: model.tscc
    tscc predict windows.zarr --model model.tscc --workers 8 --proba --out labels.zarr

The example needs the ``dask`` extra (Dask, distributed and Zarr 3:
``pip install "tscc[dask]"``, Python 3.11 or later) and ObsPy (``"tscc[seismic]"``);
without them it prints a message and stops. It always runs at the same small
size (``TSCC_QUICK`` changes nothing here): the clusters of a model trained for
a few epochs on 128 windows show what the code does, not how well TSCC
clusters.
"""

import tempfile
import time
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tscc import TSCCClusterer, WaveformNormalizer, make_microseismic
from tscc.io import open_windows, write_windows
from tscc.plotting import plot_cluster_waveforms

try:
    import dask
    import zarr  # noqa: F401  (the store's format)
    from distributed import Client, LocalCluster
    from obspy import Stream, Trace, UTCDateTime

    import tscc.dask
except ImportError as exc:
    print(
        f"This example needs Dask, distributed, Zarr 3 and ObsPy ({exc}): "
        'pip install "tscc[dask,seismic]". Nothing else to do.'
    )
    raise SystemExit(0) from None

# %%
# A small archive
# ---------------
# Two stations, two days each, one miniSEED file per station and day holding
# the E, N and Z channels: 3 minutes a day at 100 Hz, made of consecutive 2 s
# segments from :func:`~tscc.make_microseismic` (background noise, and P/S
# events on top of it in about half of them), in counts as a digitiser writes
# them. A real archive has thousands of such files (an SDS archive one file per
# channel and day); the recipe is the same.

rate, window_s, minutes = 100.0, 2.0, 3
stations, days = ["ST01", "ST02"], ["2024-03-01", "2024-03-02"]
per_file = int(minutes * 60 / window_s)  # 90 segments of 2 s
n_timestamps = int(window_s * rate)

segments, classes, class_names = make_microseismic(
    len(stations) * len(days) * per_file,
    n_timestamps,
    n_channels=3,  # E, N, Z
    sampling_rate=rate,
    snr_db=(0.0, 10.0),
    normalize=False,  # noise of unit standard deviation, events on top
    random_state=0,
    return_names=True,
)
counts = np.round(segments * 400.0).astype(np.int32)

work = tempfile.TemporaryDirectory(prefix="tscc-scaling-")
folder = Path(work.name)
archive = folder / "archive"
archive.mkdir()
truth = {}  # (station, window start) -> class, only to look at the clusters
for f, (station, day) in enumerate((s, d) for s in stations for d in days):
    rows = slice(f * per_file, (f + 1) * per_file)
    start = UTCDateTime(f"{day}T06:00:00")
    for i, label in enumerate(classes[rows]):
        truth[station, str(start + i * window_s)] = label
    recording = counts[rows].reshape(-1, 3)  # the segments back to back
    traces = [
        Trace(
            np.ascontiguousarray(recording[:, c]),
            header={
                "network": "XX",
                "station": station,
                "channel": f"HH{component}",
                "sampling_rate": rate,
                "starttime": start,
            },
        )
        for c, component in enumerate("ENZ")
    ]
    Stream(traces).write(archive / f"XX.{station}.{day}.mseed", format="MSEED")

print(sorted(path.name for path in archive.iterdir()))

# %%
# 1. Cut the archive into a windows store
# ---------------------------------------
# :func:`~tscc.io.write_windows` takes the options of :func:`tscc.read_windows`
# and appends the windows to a Zarr store, one group of files at a time (the
# files of one station and day), so that memory never holds more than a group.
# ``chunk_size`` sets the windows per chunk of the store, a multiple of the
# model's ``batch_size`` (64) here; by default the chunks are about 4 MiB.
# ``tscc windows`` is the same from the shell, with a progress bar.

store = folder / "windows.zarr"
settings = dict(window=window_s, channels="ENZ", bandpass=(1.0, 30.0), chunk_size=64)
summary = write_windows(archive, store, **settings)
print(
    f"{summary.windows_written} windows of {summary.n_timestamps} samples x "
    f"{summary.n_channels} channels ({summary.channels}) at "
    f"{summary.sampling_rate:g} Hz from {summary.n_groups} groups of files, "
    f"{summary.seconds:.1f} s; skipped files: {summary.skipped_files or 'none'}"
)

# %%
# The same call again resumes an interrupted run: it finishes the groups not
# yet written, without a window lost or written twice. On a complete store it
# does nothing.

again = write_windows(archive, store, **settings)
print(f"resumed: {again.resumed}, already complete: {again.already_complete}")

# %%
# 2. Fit on a sample
# ------------------
# :func:`~tscc.io.open_windows` reads the provenance of every window and gives
# the waveforms as a lazy Dask array: nothing of ``X`` is read yet.
# Every window is demeaned, detrended and scaled to a peak of 1 on its own, so
# the normalisation can run block by block (``map_blocks``), as ``tscc
# predict`` does it on a store.

windows = open_windows(store)
X = windows.X
print(X)

normalizer = WaveformNormalizer().fit(X[:1].compute())
X = X.map_blocks(normalizer.transform, dtype=X.dtype)

# %%
# :class:`~tscc.TSCCClusterer` takes the lazy array itself and reads it a block
# at a time; ``max_samples`` trains on a random sample of the windows (drawn
# with ``random_state``) and still labels every one of them in ``labels_``.
# A tiny model keeps this fast. At real size, train on a sample of tens of
# thousands of windows read into memory, or on a memory map: training reads
# random batches, slow from compressed chunks (:doc:`Scaling out </scaling>`).

model = TSCCClusterer(
    n_clusters=2,
    max_samples=128,
    depth=2,
    hidden_dims=16,
    pretrain_epochs=3,
    finetune_epochs=3,
    device="cpu",
    random_state=0,
)
started = time.perf_counter()
model.fit(X)
model_path = folder / "model.tscc"
model.save(model_path)
print(
    f"trained on {model.max_samples_} of {X.shape[0]} windows, "
    f"{len(model.labels_)} labels, {time.perf_counter() - started:.1f} s"
)

# %%
# 3. Predict every window with Dask
# ---------------------------------
# The saved model is loaded, as a separate prediction job would, and
# :func:`tscc.dask.predict_all` builds the graph of labels, memberships and
# features from one encoding of each block of the store; ``dask.compute`` runs
# it on the cluster. The model enters the graph once, so each worker receives
# it once, and torch's threads are limited to each block's share of the cores.
#
# The workers here are two threads of this process (``processes=False``), so
# that the example also runs as a plain script: Dask starts worker
# processes with Python's ``spawn`` method, which imports the main script
# again in each of them, so a script that starts a ``LocalCluster`` of
# processes must do it under ``if __name__ == "__main__":``. ``tscc predict
# --workers N`` starts N worker processes; ``--scheduler ADDRESS`` uses a
# running cluster, e.g. on SLURM or Kubernetes.

loaded = TSCCClusterer.load(model_path)
started = time.perf_counter()
with (
    LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
    ) as cluster,
    Client(cluster),
):
    labels, memberships, features = dask.compute(*tscc.dask.predict_all(loaded, X))
print(
    f"labels {labels.shape}, memberships {memberships.shape}, features "
    f"{features.shape} on 2 Dask workers in {time.perf_counter() - started:.1f} s"
)

# %%
# The result is that of the model's own ``predict`` on the same windows in
# memory, bit for bit, whatever the chunks and the workers.

in_memory = X.compute()
print("same labels as predict:", np.array_equal(labels, model.predict(in_memory)))
print("same as labels_ of the fit:", np.array_equal(labels, model.labels_))
print(
    "same memberships as predict_proba:",
    np.array_equal(memberships, model.predict_proba(in_memory)),
)

# %%
# Labels with provenance
# ----------------------
# Every window keeps the file it came from, its trace id and its start time,
# which lead back to the waveform in the archive. Windows per cluster and
# station, and the first rows (the synthetic class is known here, but was
# never used):

station_of = np.array([trace_id.split(".")[1] for trace_id in windows.trace_id])
print(f"{'station':<9}" + "".join(f"{f'cluster {k}':>11}" for k in range(2)))
for station in stations:
    sizes = np.bincount(labels[station_of == station], minlength=2)
    print(f"{station:<9}" + "".join(f"{size:>11}" for size in sizes))

print(f"\n{'file':<28}{'trace id':<14}{'window start':<29}{'label':>5}  class")
for i in range(6):
    true_class = class_names[truth[station_of[i], windows.starttime[i]]]
    print(
        f"{Path(windows.source[i]).name:<28}{windows.trace_id[i]:<14}"
        f"{windows.starttime[i]:<29}{labels[i]:>5}  {true_class}"
    )

y = np.array([truth[s, t] for s, t in zip(station_of, windows.starttime, strict=True)])
for cluster in range(2):
    members = Counter(class_names[y[labels == cluster]].tolist())
    print(f"cluster {cluster}: {dict(members.most_common())}")

# %%
# The vertical channel (index 2 of ``"ENZ"``) of a few windows of each cluster.

plot_cluster_waveforms(in_memory, labels, channel=2, sampling_rate=rate)
plt.show()

work.cleanup()
