"""Supervised ceiling of the synthetic set: how separable are its classes at all?

Trains supervised classifiers with 5-fold stratified cross-validation on
``make_microseismic(n, 500)`` (after ``WaveformNormalizer``) at several SNR
settings and prints their accuracy. This uses the labels to train, so it is no
clustering result: it says how high an unsupervised clusterer could hope to
get on the same waveforms. Features: the raw series (RBF SVM), and a
shift-invariant summary, the log amplitude spectrum beside the sorted energies
of short windows (gradient boosting and RBF SVM).

Run:  python examples/benchmarks/synthetic_ceiling.py                 (4928 series)
      python examples/benchmarks/synthetic_ceiling.py --n-samples 1000
"""

import argparse
import time

import numpy as np
from quality import log_spectrum  # the spectral baseline's features, beside this file
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tscc.datasets import make_microseismic
from tscc.preprocessing import WaveformNormalizer

SNR_SETTINGS = {"-5 to 10 (default)": (-5.0, 10.0), "-5": -5.0, "0": 0.0, "5": 5.0}


def summary_features(X, window=25, step=5):
    """Log amplitude spectrum and sorted short-window energies of each series."""
    windows = np.lib.stride_tricks.sliding_window_view(X**2, window, axis=1)
    energies = windows[:, ::step].mean(axis=-1)
    return np.hstack([log_spectrum(X), np.sort(energies, axis=1)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=4928)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cv = StratifiedKFold(5, shuffle=True, random_state=args.seed)
    models = {
        "SVM raw": (lambda X: X, make_pipeline(StandardScaler(), SVC())),
        "boosting summary": (
            summary_features,
            HistGradientBoostingClassifier(random_state=args.seed),
        ),
        "SVM summary": (summary_features, make_pipeline(StandardScaler(), SVC())),
    }
    print(f"| SNR dB | {' | '.join(models)} | s |")
    print(f"|---|{'---|' * len(models)}---|")
    for name, snr_db in SNR_SETTINGS.items():
        start = time.perf_counter()
        X, y = make_microseismic(
            args.n_samples, 500, snr_db=snr_db, random_state=args.seed
        )
        X = WaveformNormalizer().fit_transform(X)
        scores = [
            cross_val_score(model, features(X), y, cv=cv).mean()
            for features, model in models.values()
        ]
        cells = " | ".join(f"{score:.3f}" for score in scores)
        print(f"| {name} | {cells} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
