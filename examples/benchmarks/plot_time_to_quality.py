"""Figure of the benchmarks page: NMI against fit seconds for each training budget.

Reads the same results files as the page's time-to-quality table (through
``docs_tables.py``) and writes ``docs/images/time_to_quality.png``: one panel
per data set, a point per budget (mean NMI over the seeds, with the seeds'
spread as a bar, against the mean fit seconds on a log axis).

Run: python examples/benchmarks/plot_time_to_quality.py
"""

import importlib.util
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE.parents[1] / "docs" / "images" / "time_to_quality.png"


def _docs_tables():
    spec = importlib.util.spec_from_file_location(
        "_docs_tables", HERE / "docs_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    dt = _docs_tables()
    budgets = {"paper: 25 + 25 epochs": dt.Column("paper", dt.CURRENT[:4])}
    budgets.update((label, column) for label, column, _ in dt.budget_columns())
    sets = ("synthetic", *dt.REAL)
    fig, axes = plt.subplots(1, len(sets), figsize=(2.2 * len(sets), 3.0), sharey=True)
    for ax, name in zip(axes, sets, strict=True):
        for (label, column), marker in zip(budgets.items(), "os^D", strict=True):
            nmi = column.values(name, "nmi")
            seconds = column.values(name, "seconds")
            if not nmi:
                continue
            ax.errorbar(
                np.mean(seconds),
                np.mean(nmi),
                yerr=np.std(nmi),
                fmt=marker,
                capsize=3,
                label=label,
            )
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.margins(x=0.4)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("fit seconds")
    axes[0].set_ylabel("NMI (mean, std over seeds)")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=120)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
