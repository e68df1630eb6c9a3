"""Pretraining, epoch by epoch: label-free scores beside the NMI (issue 17).

Can a fit tell, without labels, when pretraining has learnt the most useful
features? After every pretraining epoch of a default ``TSCCClusterer`` this
script encodes all series, runs K-means with ``n_clusters`` = the number of
classes, and records two label-free scores of the features (silhouette and
Calinski-Harabasz of those clusters) beside the NMI and ACC of the clusters
(the labels score, nothing else). Training is untouched: the measurement runs
between epochs in inference mode and draws from none of training's random
streams, so the last epoch's numbers are those of the pretraining-only fit.

Run: python examples/benchmarks/pretrain_trace.py [--datasets ...] [--seeds 0 1 2]
"""

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch
from quality import (
    DATASETS,
    DEFAULT_DATA_DIR,
    WeightMean,
    load_dataset,
    parse_setting,
)
from report_tables import DATASET_NAMES, pretrain_summary
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, silhouette_score

import tscc.encoding
import tscc.training
from tscc import TSCCClusterer
from tscc.metrics import clustering_scores

# every real set: the synthetic one costs an hour a trace
DEFAULT_DATASETS = [name for name in DATASET_NAMES if name != "synthetic"]


def log(message):
    print(message, file=sys.stderr, flush=True)


def score_features(features, y, seed):
    """K-means at the number of classes: label-free scores and scores against y."""
    n_clusters = int(np.unique(y).size)
    labels = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(features)
    found = np.unique(labels).size > 1
    return {
        "silhouette": float(silhouette_score(features, labels)) if found else -1.0,
        "calinski_harabasz": (
            float(calinski_harabasz_score(features, labels)) if found else 0.0
        ),
        **clustering_scores(y, labels),
    }


def encoded(encoder, series, settings):
    features = tscc.encoding.encode_features(
        encoder, series, settings.batch_size, settings.device
    )
    return features.cpu().double().numpy()


def traced_pretraining(X, targets, seed, params, average_from=None):
    """Fit with ``finetune_epochs=0``, scoring every epoch for every target.

    ``targets`` maps a data set name to its labels ``y`` (several names may
    share the series ``X``: one pretraining serves them all). With
    ``average_from``, the weights after each epoch from that one on are also
    averaged (uniformly) and the averaged encoder is scored once at the end.
    Returns ({name: one record per pretraining epoch}, {name: record of the
    averaged weights} or None).
    """
    records = {name: [] for name in targets}
    train_epoch = tscc.training.train_epoch
    mean, last = WeightMean(), {}

    def measured_epoch(model, optimizer, series, settings, *args, **kwargs):
        losses = train_epoch(model, optimizer, series, settings, *args, **kwargs)
        encoder = model.encoder  # the step's losses hold the encoder
        features = encoded(encoder, series, settings)
        for name, y in targets.items():
            records[name].append(
                {
                    "epoch": len(records[name]) + 1,
                    "loss": float(losses["contrastive"]),
                    "steps": int(losses["steps"]),
                    "seconds": float(losses["seconds"]),
                    **score_features(features, y, seed),
                }
            )
        epoch = len(next(iter(records.values())))
        if average_from is not None and epoch >= average_from:
            mean.add(encoder)
            last.update(encoder=encoder, series=series, settings=settings)
        return losses

    tscc.training.train_epoch = measured_epoch
    try:
        TSCCClusterer(finetune_epochs=0, random_state=seed, **params).fit(X)
    finally:
        tscc.training.train_epoch = train_epoch
    if not mean.count:
        return records, None
    encoder = copy.deepcopy(last["encoder"])
    encoder.load_state_dict(mean.state_dict())
    features = encoded(encoder, last["series"], last["settings"])
    averaged = {
        name: {"from_epoch": average_from, **score_features(features, y, seed)}
        for name, y in targets.items()
    }
    return records, averaged


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--datasets", nargs="+", choices=list(DATASETS), default=DEFAULT_DATASETS
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--pretrain-epochs", type=int, default=25)
    parser.add_argument(
        "--average-from",
        type=int,
        default=None,
        metavar="EPOCH",
        help="also score the encoder whose weights are the mean of those after "
        "epochs EPOCH..last",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        type=parse_setting,
        metavar="PARAM=VALUE",
        help="any other TSCCClusterer parameter, e.g. --set lr=3e-3 (repeatable; "
        "the value is read as a Python literal)",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=Path("pretrain_trace.json"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    params = {"pretrain_epochs": args.pretrain_epochs, **dict(args.set)}
    # The PhaseNet tasks label the same windows: one pretraining per seed.
    groups = {}
    for name in args.datasets:
        kind, _, _ = DATASETS[name]
        groups.setdefault(kind if kind == "phasenet" else name, []).append(name)
    results = []
    for names in groups.values():
        targets = {}
        for name in names:
            X, y, note = load_dataset(name, args.data_dir)
            targets[name] = y
            log(f"{name}: X {X.shape}, {np.unique(y).size} classes ({note})")
        for seed in args.seeds:
            traces, averaged = traced_pretraining(
                X, targets, seed, params, args.average_from
            )
            for name, trace in traces.items():
                results.append({"dataset": name, "seed": seed, "trace": trace})
                if averaged is not None:
                    results[-1]["averaged"] = averaged[name]
                    log(
                        f"  {name} seed {seed}: weights averaged from epoch "
                        f"{args.average_from}: NMI {averaged[name]['nmi']:.3f}"
                    )
                best = max(trace, key=lambda r: r["silhouette"])
                log(
                    f"  {name} seed {seed}: last epoch NMI {trace[-1]['nmi']:.3f}; "
                    f"best NMI {max(r['nmi'] for r in trace):.3f}; at the best "
                    f"silhouette (epoch {best['epoch']}) NMI {best['nmi']:.3f}"
                )
            args.out.write_text(
                json.dumps({"command": sys.argv, "results": results}, indent=2)
            )
    print(pretrain_summary(results))


if __name__ == "__main__":
    main()
