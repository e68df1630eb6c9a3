"""``tscc report``: an HTML report of the clusters of predictions or labels."""

from ..plotting import TIME_BINS
from ..report import write_report
from ._options import positive_int


def add_parser(commands):
    """Add the ``report`` subcommand to ``commands``."""
    parser = commands.add_parser(
        "report",
        help="write an HTML report of the clusters: when, where, what they look like",
        description=(
            "Write DIR/index.html and its figures: for each station the "
            "occurrences of each cluster over time and their daily and weekly "
            "rhythms; for each cluster its size, its most typical windows, its "
            "mean waveform and mean amplitude spectrum; how sure the "
            "assignments are; the model's settings and the data's provenance. "
            "LABELS is a predictions store ('tscc predict --out FILE.zarr'), "
            "which names its model and windows store, or a labels CSV file "
            "('tscc fit --labels', 'tscc predict --out FILE.csv'). Needs "
            'matplotlib (pip install "tscc[plot]").'
        ),
    )
    parser.add_argument(
        "predictions",
        metavar="LABELS",
        help="predictions store (.zarr) or labels CSV file",
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="folder of the report"
    )
    parser.add_argument(
        "--windows",
        metavar="STORE",
        help=(
            "windows store of the predictions, for the waveforms (default: the "
            "one a predictions store names)"
        ),
    )
    parser.add_argument(
        "--model",
        metavar="FILE",
        help="model file, for its settings (default: the one a store names)",
    )
    parser.add_argument(
        "--bin",
        choices=TIME_BINS,
        default="auto",
        help="bins of the timelines (default: auto, per hour up to 14 days)",
    )
    parser.add_argument(
        "--examples",
        type=positive_int,
        default=5,
        metavar="N",
        help="most typical windows shown per cluster (default: 5)",
    )
    parser.add_argument(
        "--mean-windows",
        type=positive_int,
        default=300,
        metavar="N",
        help="random windows per cluster for the mean waveform and spectrum "
        "(default: 300)",
    )
    parser.add_argument(
        "--channel",
        metavar="C",
        help='channel of the waveforms: a component letter ("Z") or an index '
        "(default: Z where there is one, else the first)",
    )
    parser.add_argument("--title", help="title of the page")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only the last line"
    )
    parser.set_defaults(run=run)


def run(args):
    """Run ``tscc report``."""
    summary = write_report(
        args.predictions,
        args.out,
        windows=args.windows,
        model=args.model,
        bin=args.bin,
        n_examples=args.examples,
        n_mean=args.mean_windows,
        channel=args.channel,
        title=args.title,
        progress=not args.quiet,
    )
    print(
        f"Report of {summary.n_windows} windows in {summary.n_clusters} clusters "
        f"({len(summary.stations)} station(s), {len(summary.figures)} figures) "
        f"written to {summary.index} in {summary.seconds:.1f} s."
    )
    return 0
