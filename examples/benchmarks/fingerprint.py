"""Fingerprint of small fits: proof that a refactoring changed no result.

Fits a few small configurations that between them take every training path
(both clustering losses, centre updates and ``tol``, ``max_samples``,
``feature_norm``, ``augment``, series in memory and memory-mapped, a cached
pretraining, float32 and bfloat16) and prints one digest per fit of its
labels, centres, every history loss, ``transform``, ``predict_proba`` and
``score``. Run it before and after a change that must not move results and
compare the two outputs::

    python examples/benchmarks/fingerprint.py --out before.json
    # ... change the code ...
    python examples/benchmarks/fingerprint.py --out after.json
    diff before.json after.json

Digests are of raw bytes: equal means bit-identical. They depend on the CPU
and the torch build, so compare two runs on one machine.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile

import numpy as np

from tscc import TSCCClusterer, make_microseismic

TINY = {
    "depth": 2,
    "hidden_dims": 16,
    "repr_dims": 8,
    "pretrain_epochs": 2,
    "finetune_epochs": 3,
    "batch_size": 16,
    "device": "cpu",
    "random_state": 0,
}

CONFIGS = {
    "default": {},
    "bfloat16": {"precision": "bfloat16"},
    "fcm_tol": {"cluster_loss": "fcm", "tol": 0.5, "center_update_interval": 1},
    "sample_l2_augment": {
        "max_samples": 40,
        "feature_norm": "l2",
        "augment": "waveform",
        "cluster_fraction": 1.0,
    },
    "three_clusters": {"n_clusters": 3, "depth": "auto", "m": 2.0, "n_init": 3},
}


def _digest(*arrays):
    h = hashlib.blake2b(digest_size=12)
    for array in arrays:
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def fingerprint(clusterer, X):
    """Digests of what a fitted clusterer gives on ``X``."""
    losses = np.array(
        [[e["contrastive"], e["cluster"]] for e in clusterer.history_],
        dtype=np.float64,
    )
    return {
        "labels": _digest(clusterer.labels_),
        "centers": _digest(clusterer.cluster_centers_),
        "history": _digest(losses),
        "transform": _digest(clusterer.transform(X)),
        "predict_proba": _digest(clusterer.predict_proba(X)),
        "score": repr(clusterer.score(X)),
        "n_iter": clusterer.n_iter_,
    }


def run(configs):
    X, _ = make_microseismic(n_samples=72, n_timestamps=120, random_state=0)
    X = X.astype(np.float32)
    results = {}
    for name in configs:
        params = {**TINY, "precision": "float32", **CONFIGS[name]}
        clusterer = TSCCClusterer(**params).fit(X)
        results[name] = fingerprint(clusterer, X)
        print(name, results[name], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.npy")
        np.save(path, X)
        mapped = np.load(path, mmap_mode="r")
        params = {**TINY, "precision": "float32"}
        results["memmap"] = fingerprint(TSCCClusterer(**params).fit(mapped), X)
        print("memmap", results["memmap"], flush=True)
        cached = {**params, "memory": os.path.join(tmp, "cache")}
        TSCCClusterer(**cached).fit(X)  # fills the cache
        results["cached"] = fingerprint(TSCCClusterer(**cached).fit(X), X)
        print("cached", results["cached"], flush=True)
        del mapped
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="JSON file to write the digests to")
    parser.add_argument(
        "--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS)
    )
    args = parser.parse_args(argv)
    results = run(args.configs)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
