"""What the subcommands write: CSV tables of labels, Zarr stores, sizes on disk."""

import csv
import os
import sys
from pathlib import Path

import numpy as np

from ._common import UserError


def output_columns(metadata, labels):
    """The columns of a labels table: index, the provenance, label."""
    out = {"index": np.arange(labels.shape[0])}
    out.update(metadata)
    out["label"] = labels
    return out


def add_prediction_columns(out, memberships, features=None, *, proba=False):
    """Add ``proba_*`` columns (with ``proba``) and ``feature_*`` columns."""
    if proba:
        for cluster in range(memberships.shape[1]):
            out[f"proba_{cluster}"] = np.round(memberships[:, cluster], 6)
    if features is not None:
        for dim in range(features.shape[1]):
            out[f"feature_{dim}"] = features[:, dim]


def write_csv(path, columns):
    """Write equal-length columns as CSV to ``path``, or stdout for None."""
    names = list(columns)
    rows = zip(*(columns[name] for name in names), strict=True)
    if path is None:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
        return
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(names)
        writer.writerows(rows)


def directory_size(path):
    """Bytes of the files below ``path``, as text: ``"808.1 KB"``."""
    n_bytes = sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(path)
        for name in names
    )
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.1f} TB"


def to_zarr(args):
    """Whether the command's ``--out`` is a Zarr folder (``.zarr``)."""
    return args.out is not None and Path(args.out).suffix.lower() == ".zarr"


def refuse_store_options(args):
    """Refuse the options that only a windows store as INPUT takes."""
    if args.scheduler or args.workers:
        raise UserError(
            "--scheduler and --workers take a windows store (written by 'tscc "
            "windows') as INPUT."
        )
    if to_zarr(args):
        raise UserError("--out FILE.zarr is for a windows store as INPUT.")
