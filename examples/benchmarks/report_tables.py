"""Markdown tables of the benchmark scripts' results, from their records alone.

The scripts print these tables at the end of a run (``quality.py`` also for
``--report FILES``), and ``docs_tables.py`` writes them into the documentation
from the JSON files in ``results/``. Only NumPy is imported here, so the tables
can be built without torch or tscc.
"""

import json

import numpy as np

# The order of the data sets and methods in every table.
DATASET_NAMES = (
    "synthetic",
    "phasenet-event",
    "phasenet-phase",
    "GunPoint",
    "ItalyPowerDemand",
    "ArrowHead",
    "Coffee",
)
METHODS = (
    "TSCC",
    "TSCC pretrain + K-means",
    "K-means raw",
    "K-means spectrum",
    "k-Shape",
    "R-Clustering",
    "Scattering + GMM",
)


def mean_std(values):
    values = np.asarray(values, dtype=float)
    if values.size == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std():.3f}"


# ---------------------------------------------------------------------------
# quality.py
# ---------------------------------------------------------------------------


def merge_records(paths):
    """The ``results`` of several ``quality.py`` files, merged.

    A (data set, method, seed) measured in several files counts once: the
    first file that has it wins.
    """
    merged = {}
    for path in paths:
        with open(path, encoding="utf-8") as file:
            for record in json.load(file)["results"]:
                key = (record["dataset"], record["method"], record["seed"])
                merged.setdefault(key, record)
    return list(merged.values())


def ordered_datasets(records, order=DATASET_NAMES):
    """The data sets of ``records`` in the order of ``order``."""
    return [name for name in order if any(r["dataset"] == name for r in records)]


def values_by_cell(records, score):
    """{(data set, method): [score of each seed]}."""
    cells = {}
    for r in records:
        cells.setdefault((r["dataset"], r["method"]), []).append(r[score])
    return cells


def mean_ranks(cells, datasets):
    """Mean over the data sets of each method's rank by mean score (1 = best).

    ``cells`` as :func:`values_by_cell` returns. Ties share the mean of their
    ranks; a method is ranked on the sets it ran on. Returns {method: (mean
    rank, number of sets ranked on)}.
    """
    ranks = {}
    for name in datasets:
        means = {m: np.mean(v) for (d, m), v in cells.items() if d == name}
        order = sorted(means.values(), reverse=True)
        for method, value in means.items():
            tied = [i + 1 for i, v in enumerate(order) if v == value]
            ranks.setdefault(method, []).append(np.mean(tied))
    return {method: (float(np.mean(r)), len(r)) for method, r in ranks.items()}


def pivot_table(records, datasets, score):
    """Markdown table of ``score`` (mean ± std over seeds): a row per data set,
    a column per method; for scores, a mean row and a mean-rank row."""
    cells = values_by_cell(records, score)
    methods = [m for m in METHODS if any(method == m for _, method in cells)]
    sizes = {r["dataset"]: f"{r['n_samples']} x {r['n_timestamps']}" for r in records}
    sets = [name for name in datasets if name in sizes]
    lines = [
        "| data | n x T | " + " | ".join(methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    for name in sets:
        row = []
        for method in methods:
            values = cells.get((name, method))
            if values is None:
                row.append("—")
            elif score == "seconds":
                row.append(f"{np.mean(values):.1f}")
            else:
                row.append(mean_std(values))
        lines.append(f"| {name} | {sizes[name]} | " + " | ".join(row) + " |")
    if score == "seconds":
        return "\n".join(lines)

    def fewer_sets(count):
        return "" if count == len(sets) else f" ({count} sets)"

    ranks = mean_ranks(cells, sets)
    means = []
    for method in methods:
        per_set = [
            np.mean(cells[name, method]) for name in sets if (name, method) in cells
        ]
        means.append(f"{np.mean(per_set):.3f}{fewer_sets(len(per_set))}")
    ranked = [f"{ranks[m][0]:.2f}{fewer_sets(ranks[m][1])}" for m in methods]
    lines.append("| mean | | " + " | ".join(means) + " |")
    lines.append("| mean rank | | " + " | ".join(ranked) + " |")
    return "\n".join(lines)


REPORT_SCORES = (
    ("NMI", "nmi"),
    ("ACC", "acc"),
    ("ARI", "ari"),
    ("fit seconds (mean over seeds)", "seconds"),
)


def report(records, datasets):
    """The NMI, ACC, ARI and fit-time tables of ``records``."""
    return "\n\n".join(
        f"{title}\n\n{pivot_table(records, datasets, score)}"
        for title, score in REPORT_SCORES
    )


def method_rows(records, datasets):
    """Markdown table with a row per data set and method: ACC, NMI, ARI (mean ±
    std over seeds) and the mean fit seconds."""
    lines = [
        "| data | n x T | method | ACC | NMI | ARI | fit s |",
        "|---|---|---|---|---|---|---|",
    ]
    cells = {s: values_by_cell(records, s) for s in ("acc", "nmi", "ari", "seconds")}
    sizes = {r["dataset"]: f"{r['n_samples']} x {r['n_timestamps']}" for r in records}
    for name in datasets:
        for method in METHODS:
            if (name, method) not in cells["acc"]:
                continue
            scores = [mean_std(cells[s][name, method]) for s in ("acc", "nmi", "ari")]
            seconds = np.mean(cells["seconds"][name, method])
            lines.append(
                f"| {name} | {sizes[name]} | {method} | "
                + " | ".join(scores)
                + f" | {seconds:.1f} |"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# n_clusters.py, pretrain_trace.py, readout.py, probes.py
# ---------------------------------------------------------------------------

N_CLUSTERS_SCORERS = ("silhouette", "calinski_harabasz")


def n_clusters_table(records):
    """``n_clusters.py``: the k each scorer picks, per data set and seed."""
    lines = [
        "| data | classes | silhouette picks | Calinski-Harabasz picks "
        "| NMI at the true k | search s |",
        "|---|---|---|---|---|---|",
    ]
    names = list(dict.fromkeys(r["dataset"] for r in records))
    hits = {s: 0 for s in N_CLUSTERS_SCORERS}
    for name in names:
        rows = [r for r in records if r["dataset"] == name]
        true_k = rows[0]["n_classes"]
        for s in N_CLUSTERS_SCORERS:
            hits[s] += sum(r["chosen"][s] == true_k for r in rows)
        picks = {
            s: ", ".join(str(r["chosen"][s]) for r in rows) for s in N_CLUSTERS_SCORERS
        }
        nmi = np.mean([r["nmi"][r["k"].index(true_k)] for r in rows])
        seconds = np.mean([r["seconds"] for r in rows])
        lines.append(
            f"| {name} | {true_k} | {picks['silhouette']} "
            f"| {picks['calinski_harabasz']} | {nmi:.3f} | {seconds:.0f} |"
        )
    total = len(records)
    lines.append(
        f"| right | | {hits['silhouette']} of {total} "
        f"| {hits['calinski_harabasz']} of {total} | | |"
    )
    return "\n".join(lines)


def pretrain_summary(results, mean_row=False):
    """``pretrain_trace.py``: mean NMI over seeds at the last epoch, the best
    epoch, and epochs picked without labels (and of the averaged weights)."""
    averaged = all("averaged" in r for r in results)
    lines = [
        "| data | NMI, last epoch | NMI, best epoch (oracle) "
        "| NMI at max silhouette | NMI at max Calinski-Harabasz |"
        + (" NMI, averaged weights |" if averaged else ""),
        "|---|---|---|---|---|" + ("---|" if averaged else ""),
    ]
    columns = []
    for name in dict.fromkeys(r["dataset"] for r in results):
        traces = [r["trace"] for r in results if r["dataset"] == name]
        last = np.mean([t[-1]["nmi"] for t in traces])
        oracle = np.mean([max(e["nmi"] for e in t) for t in traces])
        picked = {
            score: np.mean([max(t, key=lambda e: e[score])["nmi"] for t in traces])
            for score in ("silhouette", "calinski_harabasz")
        }
        values = [last, oracle, picked["silhouette"], picked["calinski_harabasz"]]
        if averaged:
            values.append(
                np.mean([r["averaged"]["nmi"] for r in results if r["dataset"] == name])
            )
        columns.append(values)
        row = (
            f"| {name} | {last:.3f} | {oracle:.3f} | {picked['silhouette']:.3f} "
            f"| {picked['calinski_harabasz']:.3f} |"
        )
        if averaged:
            row += f" {values[-1]:.3f} |"
        lines.append(row)
    if mean_row:
        means = np.mean(columns, axis=0)
        lines.append("| mean | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    return "\n".join(lines)


def readout_table(records, score, readouts):
    """``readout.py``: ``score`` of each readout (a column), per data set."""
    lines = [
        f"| data ({score.upper()}) | " + " | ".join(readouts) + " |",
        "|---|" + "---|" * len(readouts),
    ]
    names = list(dict.fromkeys(r["dataset"] for r in records))
    means = {readout: [] for readout in readouts}
    for name in names:
        cells = []
        for readout in readouts:
            values = [
                r[score]
                for r in records
                if r["dataset"] == name and r["readout"] == readout
            ]
            means[readout].append(np.mean(values))
            cells.append(mean_std(values))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        "| mean | " + " | ".join(f"{np.mean(means[r]):.3f}" for r in readouts) + " |"
    )
    return "\n".join(lines)


def probe_table(records, datasets, probes):
    """``probes.py``: ACC, NMI and AUPRC of each probe on the raw series and on
    the TSCC features R (mean ± std over seeds)."""
    lines = [
        "| data | n | probe | input | ACC | NMI | AUPRC |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset in datasets:
        for probe in probes:
            for input_name in ("raw", "TSCC R"):
                rows = [
                    r
                    for r in records
                    if (r["dataset"], r["probe"], r["input"])
                    == (dataset, probe, input_name)
                ]
                if not rows:
                    continue
                cells = []
                for key in ("acc", "nmi", "auprc"):
                    values = np.array([r[key] for r in rows])
                    cell = f"{values.mean():.3f}"
                    if values.size > 1:
                        cell += f" ± {values.std():.3f}"
                    cells.append(cell)
                lines.append(
                    f"| {dataset} | {rows[0]['n_samples']} | {probe} | "
                    f"{input_name} | " + " | ".join(cells) + " |"
                )
    return "\n".join(lines)
