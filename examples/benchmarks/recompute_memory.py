"""Peak memory of a fit with and without recomputing the encoder's blocks.

A training step keeps, for the backward pass, the activations of every block
for two crops of every series of the batch: on long series that is gigabytes
(UCR's ACSF1, 1,460 samples, reached 4.5 GB after 3 + 1 epochs). tscc
recomputes the blocks in the backward pass instead when a step would keep
more than 2 GiB. This fits ``TSCCClusterer`` at the default architecture on
200 series of each length, 3 + 1 epochs, each in a fresh process, once as
tscc does by default and once keeping every activation, and records the peak
resident memory (VmHWM), the wall time and a digest of the features (equal:
the results do not change).

Run: python examples/benchmarks/recompute_memory.py --lengths 500 1460 \\
         --out examples/benchmarks/results/recompute_memory.json
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from heap_after import status_mb  # noqa: E402


def one_fit(length, mode, seed):
    """Fit in this (fresh) process; return its row."""
    import tscc.training
    from tscc import TSCCClusterer

    if mode == "keep":
        tscc.training._ACTIVATION_BUDGET = float("inf")
    X = np.random.default_rng(seed).normal(size=(200, length)).astype(np.float32)
    start = time.perf_counter()
    clusterer = TSCCClusterer(
        pretrain_epochs=3, finetune_epochs=1, random_state=seed
    ).fit(X)
    seconds = time.perf_counter() - start
    digest = hashlib.blake2b(clusterer.transform(X).tobytes(), digest_size=8)
    return {
        "n_timestamps": length,
        "mode": mode,
        "seconds": seconds,
        "peak_rss_mb": status_mb("VmHWM"),
        "features_digest": digest.hexdigest(),
        "precision": clusterer.precision_,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[500, 1460])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one_fit(int(args.child[0]), args.child[1], args.seed)))
        return
    from speed import child_row, write_rows  # rows with the command and versions

    rows = []
    for length in args.lengths:
        for mode in ("default", "keep"):
            cmd = [sys.executable, __file__, "--child", str(length), mode]
            cmd += ["--seed", str(args.seed)]
            row = child_row(cmd)
            rows.append(row)
            print(
                f"T={length} {mode:<8} {row['seconds']:6.1f} s, "
                f"peak {row['peak_rss_mb']:6.0f} MB, features {row['features_digest']}",
                flush=True,
            )
    write_rows(args.out, rows)


if __name__ == "__main__":
    main()
