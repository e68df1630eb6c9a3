"""
GPUs, mixed precision and moving a model between devices
========================================================

:class:`~tscc.TSCCClusterer` trains and encodes on the device named by
``device``: ``"auto"`` (the default) takes the first CUDA GPU when torch sees
one and the CPU otherwise; ``"cpu"``, ``"cuda"`` and ``"cuda:N"`` ask for one
explicitly. ``precision`` chooses the arithmetic of the encoder's layers:

* ``"bfloat16"`` runs them under bfloat16 mixed precision (weights, optimizer
  state, losses and the returned features stay float32). On hardware with
  bfloat16 matrix units, CUDA GPUs from Ampere (compute capability 8.0) on and
  CPUs with AVX-512 BF16 or AMX (Intel Cooper Lake and Sapphire Rapids on,
  AMD Zen 4 on), that is about 2-3x faster at no measured cost in quality;
* ``"float32"`` is plain single precision, the same numbers on every CPU;
* ``"auto"`` (the default) picks ``"bfloat16"`` where the hardware has those
  units and ``"float32"`` elsewhere: on a CPU without those instructions,
  bfloat16 is emulated and slower.

This example fits the same data in both precisions on whatever device is
present, times them, and moves the fitted model to the CPU with ``save`` and
``load(device="cpu")``, as one does with a model trained on a GPU server and
used on a laptop. It runs on a CPU-only machine too. The full run uses the
paper's data size (4928 waveforms of 500 samples) and, on a GPU, the paper's
25 + 25 epochs; on a CPU it times 2 + 2 epochs of the default architecture.
With ``TSCC_QUICK=1`` (as in the documentation build) data and model are tiny:
**a smoke run** of the code path, whose speeds and scores say nothing about a
real fit (the ACC column is near chance there); the other examples show the
method's quality.
"""

import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from tscc import TSCCClusterer, clustering_scores, make_microseismic

QUICK = os.environ.get("TSCC_QUICK", "0") not in ("", "0")

# %%
# What is there
# -------------
# ``device="auto"`` resolves to ``"cuda"`` exactly when
# ``torch.cuda.is_available()``. A CPU build of torch (such as the
# ``torch==2.13.0`` wheel of the install instructions) never sees a GPU:
# install a CUDA build of torch to use one.

has_cuda = torch.cuda.is_available()
print(f"torch {torch.__version__}, CUDA available: {has_cuda}")
if has_cuda:
    print(
        f"GPU: {torch.cuda.get_device_name(0)}, compute capability "
        f"{'.'.join(map(str, torch.cuda.get_device_capability(0)))}"
    )
print(f"CPU threads used by torch: {torch.get_num_threads()}")

# A tiny fit shows what "auto" resolves to here (``device_``, ``precision_``).
X_small, _ = make_microseismic(16, 100, random_state=0)
probe = TSCCClusterer(depth=1, pretrain_epochs=1, finetune_epochs=0).fit(X_small)
print(f'device="auto" -> {probe.device_!r}, precision="auto" -> {probe.precision_!r}')

# %%
# Asking for CUDA where there is none is an error at ``fit`` time, with a
# message that says what to do instead; ``device="auto"`` never fails.

try:
    TSCCClusterer(device="cuda", depth=1, pretrain_epochs=1, finetune_epochs=0).fit(
        X_small
    )
    print("device='cuda' works here")
except ValueError as error:
    print(f"ValueError: {error}")

# %%
# Data and settings
# -----------------
# The paper's synthetic check: 4928 waveforms of 5 s at 100 Hz, events and
# noise half and half. On a CPU a full fit at this size takes about an hour,
# so the CPU run times two epochs of each phase; epoch times do not change
# from epoch to epoch, so they extrapolate.

if QUICK:
    X, y = make_microseismic(256, 200, random_state=0)
    settings = dict(depth=3, hidden_dims=32, pretrain_epochs=2, finetune_epochs=2)
else:
    X, y = make_microseismic(4928, 500, random_state=0)
    epochs = 25 if has_cuda else 2
    settings = dict(pretrain_epochs=epochs, finetune_epochs=epochs)
print(f"data {X.shape}, settings {settings}")

# %%
# Timing both precisions
# ----------------------
# ``precision_`` and ``device_`` tell what a fit actually used. Per-epoch wall
# times are in ``history_``; series per second of a pretraining epoch is the
# throughput figure of ``docs/speed.md``.

results = {}
for precision in ("float32", "bfloat16"):
    # A first fit pays one-off costs (CUDA context, kernel selection, thread
    # pools): a small one goes first, untimed.
    TSCCClusterer(
        precision=precision, depth=2, pretrain_epochs=1, finetune_epochs=1
    ).fit(X[:128])
    clusterer = TSCCClusterer(precision=precision, random_state=0, **settings)
    if has_cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    clusterer.fit(X)
    seconds = time.perf_counter() - start
    epoch_seconds = {
        phase: np.median(
            [h["seconds"] for h in clusterer.history_ if h["phase"] == phase]
        )
        for phase in ("pretrain", "finetune")
    }
    results[precision] = dict(
        model=clusterer,
        seconds=seconds,
        pretrain_rate=X.shape[0] / epoch_seconds["pretrain"],
        finetune_rate=X.shape[0] / epoch_seconds["finetune"],
        scores=clustering_scores(y, clusterer.labels_),
        memory=torch.cuda.max_memory_allocated() / 2**20 if has_cuda else None,
    )
print(
    f"\n{'precision':<10}{'fit s':>8}{'pretrain/s':>12}{'finetune/s':>12}"
    f"{'ACC':>7}{'ARI':>7}" + ("  GPU MiB" if has_cuda else "")
)
for precision, r in results.items():
    print(
        f"{precision:<10}{r['seconds']:8.1f}{r['pretrain_rate']:12.0f}"
        f"{r['finetune_rate']:12.0f}{r['scores']['acc']:7.3f}"
        f"{r['scores']['ari']:7.3f}" + (f"{r['memory']:9.0f}" if has_cuda else "")
    )

# %%
# The figure compares series per second of both phases.

fig, ax = plt.subplots(figsize=(6, 3.6))
positions = np.arange(2)
for offset, (precision, color) in zip(
    (-0.2, 0.2), (("float32", "0.6"), ("bfloat16", "C0")), strict=True
):
    r = results[precision]
    ax.bar(
        positions + offset,
        [r["pretrain_rate"], r["finetune_rate"]],
        0.4,
        color=color,
        label=precision,
    )
ax.set_xticks(positions, ["pretraining epoch", "fine-tuning epoch"])
ax.set_ylabel("series per second")
ax.set_title(
    f"TSCC training speed on {results['float32']['model'].device_}, "
    f"{X.shape[0]} x {X.shape[1]}"
)
top = max(max(r["pretrain_rate"], r["finetune_rate"]) for r in results.values())
ax.set_ylim(0, 1.3 * top)  # room for the legend
ax.legend(loc="upper right", ncols=2)
fig.tight_layout()

# %%
# From the GPU to the CPU
# -----------------------
# ``save`` writes parameters as JSON and weights as tensors; ``load`` reads
# them with ``torch.load(weights_only=True)`` and puts the encoder on the
# device asked for (by default the one it was fitted on when present here,
# else the CPU). So a model trained on a GPU predicts on a machine without
# one. Loading runs no code from the file, unlike a pickle or joblib file,
# which can run anything: ``joblib.dump`` works too (the encoder is stored as
# CPU tensors), but only load such files from people you trust.

model = results["bfloat16"]["model"]
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "model.tscc"
    model.save(path)
    print(f"saved {path.name}: {path.stat().st_size / 1024:.0f} KiB")
    on_cpu = TSCCClusterer.load(path, device="cpu")

print(
    f"fitted on {model.device_}, loaded on {on_cpu.device_}, "
    f"precision {on_cpu.precision_}"
)
check = X[:512]
same = np.mean(on_cpu.predict(check) == model.predict(check))
gap = np.abs(on_cpu.transform(check) - model.transform(check)).max()
print(
    f"same cluster for {same:.1%} of {len(check)} series; largest feature "
    f"difference {gap:.2g}"
)
plt.show()
