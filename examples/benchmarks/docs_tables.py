"""Write the tables of the benchmark pages from the results files.

``docs/benchmarks.md`` and ``docs/experiments.md`` hold regions

    <!-- table: NAME -->
    ...
    <!-- /table -->

and this script rewrites each region with the table ``NAME`` of :data:`TABLES`,
built from ``examples/benchmarks/results/*.json`` by the table functions of
``report_tables.py`` (the ones the benchmark scripts print) and followed by the
results files it reads and the commands, as recorded in them, that wrote them.
So no number in a table is typed by hand, and a table cannot drift from its
file: ``docs/conf.py`` runs this at every documentation build, and
``tests/test_docs_tables.py`` fails when a committed page differs from what
this writes.

Run: python examples/benchmarks/docs_tables.py           (rewrite the pages)
     python examples/benchmarks/docs_tables.py --check   (exit 1 if one is stale)
"""

import argparse
import importlib.util
import json
import re
import sys
from functools import cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REPO = HERE.parents[1]
PAGES = (
    REPO / "docs" / "benchmarks.md",
    REPO / "docs" / "experiments.md",
    REPO / "docs" / "speed.md",
    REPO / "docs" / "scaling.md",
)


def _sibling(name):
    """The module ``name``.py beside this file, without putting this folder on
    ``sys.path`` (its ``distributed.py`` would hide the Dask package)."""
    spec = importlib.util.spec_from_file_location(f"_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rt = _sibling("report_tables")

REGION = re.compile(
    r"(<!-- table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S
)
SCORE_NAMES = {"nmi": "NMI", "acc": "ACC", "ari": "ARI", "seconds": "fit s"}
SEISMIC = ("synthetic", "phasenet-event", "phasenet-phase")
UCR = ("GunPoint", "ItalyPowerDemand", "ArrowHead", "Coffee")
REAL = ("phasenet-event", "phasenet-phase", *UCR)
TSCC, PRETRAIN = "TSCC", "TSCC pretrain + K-means"
# The current results: TSCC at the defaults beside every anchor (--report order).
CURRENT = (
    "quality_paper_encoder",
    "quality_synthetic_fcm_ratio_seed0",
    "quality_synthetic_fcm_ratio_seed1",
    "quality_synthetic_seed2",
    "quality_anchors",
)
AUGMENT = "quality_augment_waveform"
# Fixed step budgets (issue 27), against the paper's schedule: the defaults
# of tscc 0.3 (200 + 200 steps on large data), two of the budgets measured
# for 0.4 and the one "auto" takes there (400 + 160).
STEPS_200 = ("quality_steps200",)
STEPS_400_100 = ("quality_steps400_100",)
STEPS_400_160 = ("quality_steps400_160",)
#: (label, results files, (pretraining, fine-tuning) steps on large data)
BUDGETS = (
    ("200 + 200 steps", STEPS_200, (200, 200)),
    ("400 + 100 steps", STEPS_400_100, (400, 100)),
    ("400 + 160 steps", STEPS_400_160, (400, 160)),
)


# ---------------------------------------------------------------------------
# Results files
# ---------------------------------------------------------------------------


@cache
def load(name):
    """The JSON results file ``results/<name>.json``."""
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def records(*names):
    """The ``quality.py`` records of these files, merged as ``--report`` does."""
    return rt.merge_records([RESULTS / f"{name}.json" for name in names])


def commands(name):
    """The commands that wrote ``results/<name>.json``, as it records them."""
    data = load(name)
    meta = data.get("meta", {})
    found = meta.get("command", meta.get("commands", data.get("command")))
    if found is None:
        raise ValueError(f"results/{name}.json records no command")
    if isinstance(found, list) and all(" " not in part for part in found):
        found = [" ".join(["python", *found])]  # sys.argv
    return [found] if isinstance(found, str) else found


def source(name):
    """A list item naming a results file, its commands and how it ran."""
    meta = load(name).get("meta", {})
    facts = []
    if "tscc_version" in meta:
        facts.append(f"tscc {meta['tscc_version']}")
    if "torch_version" in meta:
        facts.append(f"torch {meta['torch_version']}")
    if "torch_threads" in meta:
        threads = meta["torch_threads"]
        facts.append(f"{threads} torch thread{'s' if threads != 1 else ''}")
    if "total_seconds" in meta:
        facts.append(f"{meta['total_seconds'] / 60:.0f} min in all")
    if "note" in meta:
        facts.append(meta["note"])
    runs = "; then ".join(f"`{command}`" for command in commands(name))
    where = f" ({'; '.join(facts)})" if facts else ""
    return f"- `examples/benchmarks/results/{name}.json`: {runs}{where}"


def sources(*names):
    items = "\n".join(source(name) for name in dict.fromkeys(names))
    return f"Results files, and the commands that wrote them:\n\n{items}"


# ---------------------------------------------------------------------------
# Tables built here from quality.py records
# ---------------------------------------------------------------------------


def cell_values(recs, dataset, method, score, seeds=None):
    return [
        r[score]
        for r in recs
        if r["dataset"] == dataset
        and r["method"] == method
        and (seeds is None or r["seed"] in seeds)
    ]


def seeds_in(recs, dataset, method=TSCC):
    return sorted(
        {r["seed"] for r in recs if (r["dataset"], r["method"]) == (dataset, method)}
    )


class Column:
    """A column of :func:`compare`: ``method``'s scores in the merged files
    ``names``; ``seeds_like`` restricts each data set to the seeds that file
    has for it."""

    def __init__(self, label, names, method=TSCC, seeds_like=None):
        self.label, self.method = label, method
        self.records = records(*names)
        self.reference = None if seeds_like is None else records(seeds_like)

    def seeds(self, dataset):
        """The seeds this column scores on ``dataset``."""
        mine = seeds_in(self.records, dataset, self.method)
        if self.reference is None:
            return mine
        return [seed for seed in mine if seed in seeds_in(self.reference, dataset)]

    def values(self, dataset, score):
        seeds = self.seeds(dataset)
        return cell_values(self.records, dataset, self.method, score, seeds)


def compare(columns, datasets, scores=("nmi",), mean=True, seeds=False):
    """Markdown table: a row per data set (and score), a column per
    :class:`Column`; mean ± std over the seeds, a mean row per score."""
    head = (
        ["data"] + (["seeds"] if seeds else []) + (["score"] if len(scores) > 1 else [])
    )
    lines = [
        "| " + " | ".join(head + [c.label for c in columns]) + " |",
        "|" + "---|" * (len(head) + len(columns)),
    ]
    sets = [d for d in datasets if any(c.values(d, scores[0]) for c in columns)]
    for name in sets:
        for i, score in enumerate(scores):
            first = [name if i == 0 else ""]
            if seeds:
                used = " ".join(map(str, columns[0].seeds(name)))
                first.append(used if i == 0 else "")
            if len(scores) > 1:
                first.append(SCORE_NAMES[score])
            cells = [c.values(name, score) for c in columns]
            row = [rt.mean_std(v) if v else "—" for v in cells]
            lines.append("| " + " | ".join(first + row) + " |")
    if mean:
        for score in scores:
            row = []
            for c in columns:
                per_set = [np.mean(v) for d in sets if (v := c.values(d, score))]
                note = "" if len(per_set) == len(sets) else f" ({len(per_set)} sets)"
                row.append(f"{np.mean(per_set):.3f}{note}" if per_set else "—")
            first = ["mean"] + ([""] if seeds else [])
            first += [SCORE_NAMES[score]] if len(scores) > 1 else []
            lines.append("| " + " | ".join(first + row) + " |")
    return "\n".join(lines)


def seed_rows(columns, datasets, scores):
    """Markdown table: a row per data set and seed, a column per
    (:class:`Column`, score)."""
    head = [f"{c.label}, {SCORE_NAMES[s]}" for c in columns for s in scores]
    lines = [
        "| data | seed | " + " | ".join(head) + " |",
        "|---|---|" + "---|" * len(head),
    ]
    for name in datasets:
        seeds = sorted({seed for c in columns for seed in c.seeds(name)})
        for seed in seeds:
            row = []
            for c in columns:
                for s in scores:
                    v = cell_values(c.records, name, c.method, s, [seed])
                    row.append(f"{v[0]:.3f}" if v else "—")
            lines.append(f"| {name} | {seed} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def mean_score(recs, datasets, method, score="nmi", seeds_like=None):
    """Mean over ``datasets`` of ``method``'s mean score, and the sets used."""
    per_set = []
    for d in datasets:
        seeds = None if seeds_like is None else seeds_in(seeds_like, d)
        values = cell_values(recs, d, method, score, seeds)
        if values:
            per_set.append(np.mean(values))
    return (np.mean(per_set) if per_set else None), len(per_set)


def best_anchor(recs, datasets, score="nmi"):
    """(name, mean) of the method other than TSCC's with the best mean score."""
    anchors = sorted(
        {r["method"] for r in recs} - {TSCC, PRETRAIN}, key=rt.METHODS.index
    )
    means = {}
    for method in anchors:
        value, count = mean_score(recs, datasets, method, score)
        if count == len(datasets):
            means[method] = value
    name = max(means, key=means.get)
    return name, means[name]


def verdict(value, goal, base):
    """Whether ``value`` reaches ``goal``, and its margin over ``base``."""
    return f"{'yes' if value >= goal - 1e-12 else 'no'} ({value - base:+.3f})"


def targets_table():
    """The targets of the comparison, at the defaults and with augment.

    A cell is TSCC's mean score, whether it reaches the target, and its margin
    over the reference (the best anchor, K-means raw, the threshold or
    pretraining + K-means, as the row says).
    """
    current, augmented = records(*CURRENT), records(AUGMENT)
    lines = [
        '| target | TSCC, defaults | met | TSCC, `augment="waveform"` | met '
        "| reference |",
        "|---|---|---|---|---|---|",
    ]

    def seeds_note(datasets):
        mine = {r["seed"] for r in current if r["dataset"] in datasets}
        other = {r["seed"] for r in augmented if r["dataset"] in datasets}
        if not other or other == mine:
            return ""
        return " (seed " + " ".join(map(str, sorted(other))) + ")"

    def add(target, datasets, score, goal, base, reference, method=TSCC):
        """``goal`` and ``base``: functions of the records, or numbers."""
        row = [target]
        for recs, note in ((current, ""), (augmented, seeds_note(datasets))):
            value, count = mean_score(recs, datasets, method, score)
            if count < len(datasets):
                row += ["not measured", ""]
                continue
            aim = goal(recs) if callable(goal) else goal
            over = base(recs) if callable(base) else base
            row += [f"{value:.3f}{note}", verdict(value, aim, over)]
        lines.append("| " + " | ".join(row + [reference]) + " |")

    for d in SEISMIC:
        name, anchor = best_anchor(current, [d])
        add(
            f"{d}: NMI >= best anchor + 0.05",
            [d],
            "nmi",
            anchor + 0.05,
            anchor,
            f"{name} {anchor:.3f}",
        )
    name, anchor = best_anchor(current, UCR)
    add(
        "UCR sets: mean NMI >= best anchor's mean",
        UCR,
        "nmi",
        anchor,
        anchor,
        f"{name} {anchor:.3f}",
    )
    for d, score, goal in (
        ("phasenet-event", "acc", 0.90),
        ("synthetic", "acc", 0.98),
        ("synthetic", "nmi", 0.86),
    ):
        name, anchor = best_anchor(current, [d], score)
        add(
            f"{d}: {SCORE_NAMES[score]} >= {goal:.2f}",
            [d],
            score,
            goal,
            goal,
            f"best anchor: {name} {anchor:.3f}",
        )
    for d in UCR:
        raw = mean_score(current, [d], "K-means raw")[0]
        add(
            f"{d}: NMI >= K-means raw",
            [d],
            "nmi",
            raw,
            raw,
            f"K-means raw {raw:.3f}",
        )
    sets = [d for d in rt.DATASET_NAMES if cell_values(current, d, TSCC, "nmi")]

    def pretrained(recs):
        return mean_score(recs, sets, PRETRAIN)[0]

    add(
        f"fine-tuning helps: mean NMI over the {len(sets)} sets >= "
        "pretraining + K-means",
        sets,
        "nmi",
        pretrained,
        pretrained,
        f"pretraining + K-means {pretrained(current):.3f}",
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The tables of the pages
# ---------------------------------------------------------------------------

TABLES = {}


def table(name):
    def register(function):
        TABLES[name] = function
        return function

    return register


def quality_tables(names):
    recs = records(*names)
    sets = rt.ordered_datasets(recs)
    parts = [
        f"**{title}**\n\n{rt.pivot_table(recs, sets, score)}"
        for title, score in rt.REPORT_SCORES
    ]
    return "\n\n".join(parts + [sources(*names)])


def runs_table(name):
    recs = records(name)
    return f"{rt.method_rows(recs, rt.ordered_datasets(recs))}\n\n{sources(name)}"


# benchmarks.md


@table("quality")
def _():
    return quality_tables(CURRENT)


def auto_steps(n_series, n_timestamps, batch_size=64, max_train_length=3000):
    """(pretraining, fine-tuning) steps at ``"auto"`` (the library's own rule)."""
    from tscc.distributed import Ranks
    from tscc.settings import TrainingSettings
    from tscc.training import Budget

    settings = TrainingSettings(
        batch_size=batch_size,
        max_train_length=max_train_length,
        pretrain_steps="auto",
        finetune_steps="auto",
    )
    shape = (n_series, n_timestamps)
    return tuple(
        Budget.of_phase(settings, phase, shape, Ranks()).n_steps
        for phase in ("pretrain", "finetune")
    )


def time_to_quality_table(paper, budgets, sets):
    """Per set: the steps "auto" takes, and NMI / fit seconds of the paper's
    schedule, of each fixed budget and of the defaults (the column whose
    steps "auto" takes on the set)."""
    columns = [("paper", paper), *((label, column) for label, column, _ in budgets)]
    head = ["data", "n x T", "seeds", "steps a phase: paper / auto"]
    for label, _ in columns + [("defaults", None)]:
        head += [f"{label} NMI", f"{label} fit s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    means = {label: [] for label, _ in columns + [("defaults", None)]}
    for name in sets:
        rec = next(r for _, c in columns for r in c.records if r["dataset"] == name)
        n, t = rec["n_samples"], rec["n_timestamps"]
        epochs_steps = 25 * -(-n // 64)
        auto = auto_steps(n, t)
        if auto == (epochs_steps, epochs_steps):
            default = paper
        else:
            found = [c for _, c, steps in budgets if steps == auto]
            if not found:
                raise ValueError(f"no results at the default budget {auto} on {name}")
            default = found[0]
        cells = []
        for label, column in columns + [("defaults", default)]:
            nmi = column.values(name, "nmi")
            seconds = column.values(name, "seconds")
            if nmi:
                means[label].append(np.mean(nmi))
            cells += [rt.mean_std(nmi) if nmi else "—"]
            cells += [f"{np.mean(seconds):.0f}" if seconds else "—"]
        seeds = " ".join(map(str, default.seeds(name)))
        steps = f"{epochs_steps} / {auto[0]} + {auto[1]}"
        first = f"| {name} | {n} x {t} | {seeds} | {steps} | "
        lines.append(first + " | ".join(cells) + " |")
    row = []
    for values in means.values():
        note = "" if len(values) == len(sets) else f" ({len(values)} sets)"
        row += [f"{np.mean(values):.3f}{note}" if values else "—", ""]
    lines.append("| mean | | | | " + " | ".join(row) + " |")
    return "\n".join(lines)


def budget_columns():
    """The :class:`Column` of each fixed budget of :data:`BUDGETS`."""
    return [(label, Column(label, names), steps) for label, names, steps in BUDGETS]


@table("time-to-quality")
def _():
    paper = Column("paper", CURRENT[:4])
    body = time_to_quality_table(paper, budget_columns(), ("synthetic", *REAL))
    names = [name for _, files, _ in BUDGETS for name in files]
    return f"{body}\n\n{sources(*CURRENT[:4], *names)}"


# speed.md


def rows_table(rows, columns):
    """Markdown table of ``rows`` (dicts): ``columns`` is (key, title, format)."""
    lines = [
        "| " + " | ".join(title for _, title, _ in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [format(row[key], spec) for key, _, spec in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@table("default-fit")
def _():
    """The fits at the paper's size: the defaults of 0.3 against those of 0.2."""
    columns = [
        Column("paper's schedule (tscc 0.2 defaults)", CURRENT[1:4]),
        Column("pretraining + K-means, paper", CURRENT[1:4], PRETRAIN),
        Column("tscc 0.3 defaults: 200 + 200 steps", STEPS_200),
        Column("tscc 0.4 defaults: 400 + 160 steps", STEPS_400_160),
        Column("pretraining + K-means, 400 steps", STEPS_400_160, PRETRAIN),
    ]
    body = seed_rows(columns, ["synthetic"], ("nmi", "seconds"))
    return f"{body}\n\n{sources(*CURRENT[1:4], *STEPS_200, *STEPS_400_160)}"


@table("default-fit-wall")
def _():
    """``fit_predict`` in a fresh process: tscc 0.3's budget against the defaults."""
    rows = load("default_fit_wall")["rows"]
    for row in rows:
        params = row["params"]
        row["budget"] = (
            ", ".join(f"{k}={v}" for k, v in params.items()) or "the defaults"
        )
        row["minutes"] = row["seconds"] / 60
    columns = [
        ("budget", "settings", "s"),
        ("seed", "seed", "d"),
        ("optimizer_steps", "steps", "d"),
        ("seconds", "wall s", ".0f"),
        ("minutes", "wall min", ".1f"),
        ("nmi", "NMI", ".3f"),
        ("acc", "ACC", ".3f"),
        ("peak_rss_mb", "peak RSS MB", ".0f"),
    ]
    return f"{rows_table(rows, columns)}\n\n{sources('default_fit_wall')}"


@table("matmul-floor")
def _():
    rows = [row for row in load("speed_floor")["rows"] if "n_samples" in row]
    for row in rows:
        row["size"] = f"{row['n_samples']} x {row['n_timestamps']}"
    columns = [
        ("size", "n x T", "s"),
        ("precision", "precision", "s"),
        ("pretrain_series_per_s", "pretraining series/s", ".1f"),
        ("pretrain_floor_series_per_s", "its floor", ".1f"),
        ("pretrain_efficiency", "efficiency", ".2f"),
        ("fresh_transform_series_per_s", "fresh transform series/s", ".0f"),
        ("transform_floor_series_per_s", "its floor", ".0f"),
        ("fresh_transform_efficiency", "efficiency", ".2f"),
        ("finetune_over_pretrain", "fine-tuning / pretraining epoch", ".2f"),
    ]
    return f"{rows_table(rows, columns)}\n\n{sources('speed_floor')}"


@table("recompute-memory")
def _():
    # tscc 0.3 (the stacked taps kept, recomputation above 2 GiB), then 0.4
    names = ("recompute_memory", "recompute_memory_taps")
    rows = [
        {**row, "tscc": load(name)["meta"]["tscc_version"]}
        for name in names
        for row in load(name)["rows"]
    ]
    columns = [
        ("tscc", "tscc", "s"),
        ("n_timestamps", "T", "d"),
        ("mode", "activations", "s"),
        ("peak_rss_mb", "peak RSS MB", ".0f"),
        ("seconds", "fit s", ".1f"),
        ("features_digest", "features digest", "s"),
    ]
    return f"{rows_table(rows, columns)}\n\n{sources(*names)}"


@table("targets")
def _():
    return f"{targets_table()}\n\n{sources(*CURRENT, AUGMENT)}"


@table("synthetic-seeds")
def _():
    names = CURRENT[1:4]
    columns = [Column(TSCC, names), Column("pretraining + K-means", names, PRETRAIN)]
    return f"{seed_rows(columns, ['synthetic'], ('nmi', 'acc'))}\n\n{sources(*names)}"


@table("n-clusters")
def _():
    picks = rt.n_clusters_table(load("n_clusters")["results"])
    return f"{picks}\n\n{sources('n_clusters')}"


@table("probes")
def _():
    recs = load("probes_phasenet_fcm_ratio")["results"]
    sets = list(dict.fromkeys(r["dataset"] for r in recs))
    probes = list(dict.fromkeys(r["probe"] for r in recs))
    return (
        f"{rt.probe_table(recs, sets, probes)}\n\n"
        f"{sources('probes_phasenet_fcm_ratio')}"
    )


# experiments.md


@table("fcm-defaults")
def _():
    return runs_table("quality_defaults")


@table("fcm-synthetic")
def _():
    return runs_table("quality_synthetic_seed0")


@table("epochs-depth")
def _():
    deep, auto, short = (
        "quality_defaults",
        "quality_ucr_depth_auto",
        "quality_10_10_depth_auto",
    )
    columns = [
        Column("25 + 25, depth 10: TSCC", [deep]),
        Column("pretraining + K-means", [deep], PRETRAIN),
        Column('25 + 25, `depth="auto"`: TSCC', [auto]),
        Column("pretraining + K-means", [auto], PRETRAIN),
        Column('10 + 10, `depth="auto"`: TSCC', [short]),
        Column("pretraining + K-means", [short], PRETRAIN),
        Column("K-means raw", [deep], "K-means raw"),
    ]
    table_ = compare(columns, REAL, ("nmi", "acc"), mean=False)
    return f"{table_}\n\n{sources(deep, auto, short)}"


@table("fcm-ratio")
def _():
    fcm, ratio = "quality_defaults", "quality_fcm_ratio"
    columns = [
        Column("pretraining + K-means", [fcm], PRETRAIN),
        Column("fine-tuned, `fcm` (weight 0.1)", [fcm]),
        Column("fine-tuned, `fcm_ratio` (weight 1)", [ratio]),
        Column("K-means raw", [ratio], "K-means raw"),
    ]
    return f"{compare(columns, REAL, ('nmi', 'acc'))}\n\n{sources(fcm, ratio)}"


@table("ratio-synthetic-1000")
def _():
    return runs_table("quality_synthetic1000_fcm_ratio")


@table("ratio-synthetic")
def _():
    names = ("quality_synthetic_fcm_ratio_seed0", "quality_synthetic_fcm_ratio_seed1")
    columns = [
        Column("`fcm_ratio`: TSCC", names),
        Column("pretraining + K-means", names, PRETRAIN),
        Column("`fcm` (seed 0): TSCC", ["quality_synthetic_seed0"]),
        Column("K-means spectrum", names, "K-means spectrum"),
    ]
    return (
        f"{seed_rows(columns, ['synthetic'], ('nmi', 'acc'))}\n\n"
        f"{rt.method_rows(records(*names), ['synthetic'])}\n\n"
        f"{sources(*names, 'quality_synthetic_seed0')}"
    )


@table("encoder")
def _():
    before, after = "quality_fcm_ratio", "quality_paper_encoder"
    columns = [
        Column("TSCC, before", [before]),
        Column("TSCC, after", [after]),
        Column("pretraining + K-means, before", [before], PRETRAIN),
        Column("pretraining + K-means, after", [after], PRETRAIN),
    ]
    coffee = [
        Column("pretraining + K-means, before", [before], PRETRAIN),
        Column("pretraining + K-means, after", [after], PRETRAIN),
    ]
    return (
        f"{compare(columns, REAL, ('nmi', 'acc', 'ari'))}\n\n"
        "Coffee, seed by seed:\n\n"
        f"{seed_rows(coffee, ['Coffee'], ('nmi',))}\n\n"
        f"{sources(before, after)}"
    )


@table("readout")
def _():
    recs = load("readout")["results"]
    readouts = list(dict.fromkeys(r["readout"] for r in recs))
    return f"{rt.readout_table(recs, 'nmi', readouts)}\n\n{sources('readout')}"


@table("feature-norm")
def _():
    defaults, l2 = "quality_paper_encoder", "quality_feature_norm_l2"
    columns = [Column("defaults", [defaults]), Column('`feature_norm="l2"`', [l2])]
    per_seed = [Column("defaults", [defaults]), Column('`"l2"`', [l2])]
    return (
        f"{compare(columns, REAL, ('nmi', 'acc'))}\n\n"
        "Seed by seed:\n\n"
        f"{seed_rows(per_seed, ['phasenet-event'], ('nmi',))}\n\n"
        f"{sources(defaults, l2)}"
    )


#: Pretraining traces on the paper-size synthetic set, one per setting.
BUDGET_TRACES = (
    ("batch 64, lr 1e-3 (the defaults)", "pretrain_trace_synthetic_lr1e-3"),
    ("batch 64, lr 3e-3", "pretrain_trace_synthetic_lr3e-3"),
    ("batch 16, lr 1e-3", "pretrain_trace_synthetic_batch16"),
)


@table("budget-traces")
def _():
    """NMI of pretraining + K-means after each epoch, with steps and seconds."""
    lines = [
        "| setting | seed | epoch | steps | pretraining s | NMI |",
        "|---|---|---|---|---|---|",
    ]
    for label, name in BUDGET_TRACES:
        for result in load(name)["results"]:
            steps = seconds = 0
            for record in result["trace"]:
                steps += record["steps"]
                seconds += record["seconds"]
                lines.append(
                    f"| {label} | {result['seed']} | {record['epoch']} | {steps} | "
                    f"{seconds:.0f} | {record['nmi']:.3f} |"
                )
    names = [name for _, name in BUDGET_TRACES]
    return "\n".join(lines) + f"\n\n{sources(*names)}"


@table("compile-step")
def _():
    columns = [
        ("mode", "encoder's blocks", "s"),
        ("precision", "precision", "s"),
        ("first_step_s", "first step s (compiles)", ".1f"),
        ("next_two_steps_s", "next two steps s", ".2f"),
        ("step_s", "then, s a step", ".3f"),
        ("share", "share in matrix products", "s"),
    ]
    rows = load("compile_step")["rows"]
    for row in rows:
        share = row.get("matrix_product_share")
        row["share"] = "—" if share is None else f"{share:.0%}"
    return f"{rows_table(rows, columns)}\n\n{sources('compile_step')}"


@table("pretrain-trace")
def _():
    recs = load("pretrain_trace")["results"]
    return f"{rt.pretrain_summary(recs, mean_row=True)}\n\n{sources('pretrain_trace')}"


@table("average-from")
def _():
    defaults, averaged = "quality_paper_encoder", "quality_average_from_16"
    columns = [
        Column("pretraining + K-means, defaults", [defaults], PRETRAIN, averaged),
        Column("pretraining + K-means, averaged", [averaged], PRETRAIN),
        Column("TSCC, defaults", [defaults], TSCC, averaged),
        Column("TSCC, averaged", [averaged]),
    ]
    return f"{compare(columns, REAL, seeds=True)}\n\n{sources(defaults, averaged)}"


@table("augment")
def _():
    defaults, noise = "quality_paper_encoder", "quality_augment_waveform_noise"
    columns = [
        Column("TSCC, defaults", [defaults], TSCC, AUGMENT),
        Column("TSCC, polarity + gain", [AUGMENT]),
        Column("TSCC, + noise", [noise]),
        Column("pretraining + K-means, defaults", [defaults], PRETRAIN, AUGMENT),
        Column("pretraining + K-means, polarity + gain", [AUGMENT], PRETRAIN),
    ]
    per_seed = [
        Column("defaults", [defaults]),
        Column("polarity + gain", [AUGMENT]),
        Column("pretraining + K-means, polarity + gain", [AUGMENT], PRETRAIN),
    ]
    return (
        f"{compare(columns, REAL, ('nmi', 'acc'), mean=False, seeds=True)}\n\n"
        "Seed by seed:\n\n"
        f"{seed_rows(per_seed, ['phasenet-event', 'phasenet-phase'], ('nmi', 'acc'))}"
        "\n\n"
        f"{sources(defaults, AUGMENT, noise)}"
    )


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------


def render(text):
    """``text`` with every table region rewritten."""

    def fill(match):
        name = match["name"]
        if name not in TABLES:
            raise KeyError(f"no table {name!r} (known: {', '.join(TABLES)})")
        return f"{match[1]}\n{TABLES[name]()}\n\n{match[4]}"

    return REGION.sub(fill, text)


@table("pooling")
def _():
    mean = "quality_pooling_mean"
    columns = [
        Column('`"max"` (the defaults): TSCC', CURRENT),
        Column('`pooling="mean"`: TSCC', [mean]),
        Column('`"max"`: pretraining + K-means', CURRENT, PRETRAIN),
        Column('`"mean"`: pretraining + K-means', [mean], PRETRAIN),
    ]
    sets = [name for name in REAL if seeds_in(records(mean), name, TSCC)]
    return f"{compare(columns, sets, ('nmi', 'acc'))}\n\n{sources(*CURRENT, mean)}"


@table("depth-at-budget")
def _():
    """Seed 0 of the synthetic set at the 0.4 budget: depth 10 against 5."""
    rows = [
        "| depth | method | NMI | ACC | ARI | fit s |",
        "|---|---|---|---|---|---|",
    ]
    for depth, name in ((10, STEPS_400_160[0]), (5, "quality_depth5_seed0")):
        for r in load(name)["results"]:
            if r["dataset"] == "synthetic" and r["seed"] == 0:
                rows.append(
                    f"| {depth} | {r['method']} | {r['nmi']:.3f} | {r['acc']:.3f} "
                    f"| {r['ari']:.3f} | {r['seconds']:.0f} |"
                )
    return "\n".join(rows) + "\n\n" + sources(STEPS_400_160[0], "quality_depth5_seed0")


# scaling.md

# distributed.py runs, per-process batches (before tscc 0.4.1) and global ones
DISTRIBUTED_PER_PROCESS = (
    "distributed",
    "distributed_batch32",
    "distributed_seed1",
    "distributed_batch32_seed1",
)
DISTRIBUTED_GLOBAL = (
    "distributed_global_batch_seed0",
    "distributed_global_batch_seed1",
)


def distributed_table(names, global_batch):
    """Seed, set-up, batches, seconds per epoch, fit seconds, NMI, ACC."""
    head = (
        "| seed | processes x threads | batch of a step (per process) | "
        "pretraining s/epoch | fine-tuning s/epoch | fit | NMI | ACC |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for name in names:
        data = load(name)
        batch = data["settings"]["batch_size"]
        for r in data["records"]:
            per_process = batch // r["processes"] if global_batch else batch
            rows.append(
                f"| {data['settings']['seed']} | {r['processes']} x {r['threads']} "
                f"| {per_process * r['processes']} ({per_process}) "
                f"| {np.mean(r['pretrain_epoch_seconds']):.1f} "
                f"| {np.mean(r['finetune_epoch_seconds']):.1f} "
                f"| {r['fit_seconds']:.0f} s | {r['nmi']:.3f} | {r['acc']:.3f} |"
            )
    return "\n".join([head, *rows]) + "\n\n" + sources(*names)


@table("distributed-global-batch")
def _():
    return distributed_table(DISTRIBUTED_GLOBAL, global_batch=True)


@table("distributed-per-process-batch")
def _():
    return distributed_table(DISTRIBUTED_PER_PROCESS, global_batch=False)


def rendered_pages():
    """{page: (committed text, text with the tables regenerated)}."""
    pages = {}
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        pages[page] = (text, render(text))
    return pages


def write_pages():
    """Rewrite the pages whose tables are stale; return those written."""
    written = []
    for page, (old, new) in rendered_pages().items():
        if new != old:
            page.write_text(new, encoding="utf-8")
            written.append(page)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a page's tables differ from the results",
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = [p for p, (old, new) in rendered_pages().items() if new != old]
        for page in stale:
            print(f"stale tables: {page.relative_to(REPO)}", file=sys.stderr)
        return 1 if stale else 0
    for page in write_pages():
        print(f"wrote {page.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
