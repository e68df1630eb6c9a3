"""Resident memory of the process during and after a TSCC fit (Linux).

Fits ``TSCCClusterer`` on ``make_microseismic(n, 500)`` with pretraining only,
samples the resident set size every few seconds, and prints its peak and its
value after ``fit`` returns. ``--no-trim`` skips the ``malloc_trim`` that
``fit`` ends with, to show what it gives back; ``--keep-freed-memory`` opts in
to ``tscc.heap.keep_freed_memory`` first:

    python examples/benchmarks/fit_memory.py --n-samples 512 --epochs 4
    python examples/benchmarks/fit_memory.py --no-trim --keep-freed-memory

Allocator settings such as ``MALLOC_MMAP_THRESHOLD_=131072`` are environment
variables of the process, set on the command line.
"""

import argparse
import sys
import threading
import time
from pathlib import Path

import torch

import tscc.estimator
import tscc.heap
from tscc import TSCCClusterer
from tscc.datasets import make_microseismic
from tscc.preprocessing import WaveformNormalizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from heap_after import resident_mb  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=4, help="pretraining epochs")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds")
    parser.add_argument("--no-trim", action="store_true")
    parser.add_argument("--keep-freed-memory", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.keep_freed_memory:
        tscc.heap.keep_freed_memory()
    if args.no_trim:  # fit looks the function up in its module
        tscc.estimator.release_free_memory = lambda: False

    X, _ = make_microseismic(args.n_samples, 500, random_state=0)
    X = WaveformNormalizer().fit_transform(X)
    samples = [resident_mb()]
    done = threading.Event()

    def sample():
        while not done.wait(args.interval):
            samples.append(resident_mb())

    threading.Thread(target=sample, daemon=True).start()
    start = time.perf_counter()
    model = TSCCClusterer(
        2,
        pretrain_epochs=args.epochs,
        finetune_epochs=0,
        device="cpu",
        random_state=0,
    ).fit(X)
    seconds = time.perf_counter() - start
    done.set()
    epoch = sum(h["seconds"] for h in model.history_) / len(model.history_)
    print(
        f"{args.n_samples} x 500, {args.epochs} epochs, "
        f"keep_freed_memory={args.keep_freed_memory}, trim={not args.no_trim}: "
        f"peak {max(samples):.0f} MB, after fit {resident_mb():.0f} MB, "
        f"{epoch:.1f} s per epoch, fit {seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
