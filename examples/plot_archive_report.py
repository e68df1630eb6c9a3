"""
From a miniSEED archive to a report, on the command line
========================================================

The whole path a seismologist takes with an archive of continuous
recordings, with the commands one types in a shell, at a small size:

1. ``tscc windows``: cut the archive into a windows store on disk (Zarr);
2. ``tscc fit STORE --max-samples N``: train on a random sample of it;
3. ``tscc predict STORE --workers 2``: label every window on a local Dask
   cluster, into a predictions store;
4. ``tscc report``: an HTML page of when, where and what the clusters are.

The archive is synthetic (:func:`tscc.archive.write_event_archive`): two
stations recording three components for 1.5 hours on each of two days, with
local events added at known times, among them a swarm at the first station on
the second day. Nothing in the path sees where the events are; at the end the
clusters are scored against "the window holds an event".

Each command runs here as a separate process (``python -m tscc ...``, the
same as typing ``tscc ...``), and what it prints is shown below it. The
example needs ObsPy, Dask, Zarr and matplotlib (``pip install
"tscc[seismic,dask,plot]"``); without them it prints a message and stops. It
always runs at the same small size and with a small encoder (3 blocks of 32
channels, 300 + 40 steps), about a minute on two cores; at real size leave
the architecture and the steps at their defaults.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import normalized_mutual_info_score

try:
    import distributed  # noqa: F401  (tscc predict --workers)
    import obspy  # noqa: F401  (the archive's files)
    import zarr
except ImportError as exc:
    print(
        f"This example needs ObsPy, Dask, distributed and Zarr ({exc}): "
        'pip install "tscc[seismic,dask,plot]". Nothing else to do.'
    )
    raise SystemExit(0) from None

from tscc.archive import write_event_archive

work = tempfile.TemporaryDirectory(prefix="tscc-archive-")
folder = Path(work.name)  # every command runs there


def tscc(*args):
    """Run ``tscc ARGS`` as a user would and show what it prints."""
    print("$ tscc " + " ".join(args))
    done = subprocess.run(
        [sys.executable, "-m", "tscc", *args],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    print(done.stdout.strip())
    if done.returncode:
        raise RuntimeError(f"tscc {args[0]} failed with status {done.returncode}")


# %%
# The archive
# -----------
# One miniSEED file per station and day, holding the E, N and Z channels, in
# counts, at 50 Hz; each event lies inside one of the 4 s windows cut below.

archive = write_event_archive(folder / "archive", random_state=0)
for path in archive.files:
    print(Path(path).relative_to(folder))
print(f"{archive.event_time.size} events at {len(archive.stations)} stations")

# %%
# 1. Cut the archive into windows
# -------------------------------
# 4 s windows of the three channels, band-passed from 1 to 20 Hz.

tscc(
    "windows", "archive/**/*.mseed", "--out", "windows.zarr", "--window", "4",
    "--channels", "ENZ", "--bandpass", "1", "20", "--quiet",
)  # fmt: skip

# %%
# 2. Fit on a sample of the store
# -------------------------------
# The sample (``--max-samples``, drawn with ``--random-state``) is read into
# memory once, each chunk of the store at most once, normalised as
# ``predict`` normalises the store (each window to a peak of 1); every
# window is then labelled. ``--quiet`` hides the progress bars.

tscc(
    "fit", "windows.zarr", "--max-samples", "1000", "--n-clusters", "2",
    "--depth", "3", "--hidden-dims", "32", "--pretrain-steps", "300",
    "--finetune-steps", "40", "--model", "model.tscc", "--quiet",
)  # fmt: skip

# %%
# 3. Label every window on a local Dask cluster
# ---------------------------------------------
# Two worker processes on this machine, started and closed by the command;
# ``--scheduler ADDRESS`` uses a running cluster instead. The ``.zarr``
# output holds the labels, memberships and features of every window, with
# its provenance, and names the model and the windows store.

tscc(
    "predict", "windows.zarr", "--model", "model.tscc", "--workers", "2",
    "--out", "predictions.zarr", "--quiet",
)  # fmt: skip

# %%
# 4. The report
# -------------
# ``report/index.html`` and its figures; open it in any browser.

tscc("report", "predictions.zarr", "--out", "report")
print(sorted(os.listdir(folder / "report")))

# %%
# Did the events come out as their own cluster?
# ---------------------------------------------
# Only now are the known event times used: each window is marked by whether
# an event starts inside it, and the clusters are scored against that.

predictions = zarr.open_group(folder / "predictions.zarr", mode="r")
labels = predictions["labels"][:]
holds = archive.holds_event(
    np.array(predictions["trace_id"][:].tolist(), dtype=str),
    np.array(predictions["starttime"][:].tolist(), dtype=str),
)
print(f"{holds.sum()} of {holds.size} windows hold an event")
for cluster in range(2):
    members = labels == cluster
    print(
        f"cluster {cluster}: {members.sum()} windows, "
        f"{holds[members].mean():.0%} of them hold an event"
    )
nmi = normalized_mutual_info_score(holds, labels)
print(f"NMI against 'the window holds an event': {nmi:.3f}")

# %%
# Two of the report's figures: the timeline of the first station, where the
# swarm of the second day stands out in the event cluster, and the most
# typical windows of each cluster with their means.

fig, axes = plt.subplots(2, 1, figsize=(10, 9))
for ax, name in zip(axes, ["timeline_000.png", "waveforms.png"], strict=True):
    ax.imshow(plt.imread(folder / "report" / name))
    ax.set_axis_off()
fig.tight_layout()
plt.show()

work.cleanup()
