"""``tscc windows``: cut seismic files into a windows store (Zarr) on disk."""

import sys
import warnings

from ..io import write_windows
from ._common import PROG, UserError
from ._options import add_seismic_options, window_options
from ._output import directory_size


def add_parser(commands):
    """Add the ``windows`` subcommand to ``commands``."""
    parser = commands.add_parser(
        "windows",
        help="cut a seismic archive into a windows store (Zarr) on disk",
        description=(
            "Cut the seismic files of INPUT into windows, as fit and predict "
            "do, but one group of files at a time (the files of one station "
            "and day), appending them to a Zarr store: for archives larger "
            "than memory. Windows never span two groups (e.g. midnight "
            "between day files). Run the same command again to resume an "
            "interrupted run; a complete store is left as it is. Needs Zarr "
            '(pip install "tscc[dask]") and ObsPy; open the store with '
            "tscc.open_windows, or give it to tscc fit, predict or transform."
        ),
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help=(
            "seismic files, directories or glob patterns (quote the pattern to "
            "let tscc expand it, e.g. 'sds/**/*.D.*')"
        ),
    )
    parser.add_argument(
        "--out", required=True, metavar="STORE", help="store directory to write"
    )
    add_seismic_options(parser)
    parser.add_argument(
        "--chunk-size",
        type=int,
        metavar="N",
        help="windows per chunk of the store (default: chunks of about 4 MiB)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="groups of files cut at the same time, in processes; -1: one per "
        "CPU (default: 1)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="show no progress bar"
    )
    parser.set_defaults(run=run)


def run(args):
    """Run ``tscc windows``: cut seismic files into a windows store."""
    if args.window is None:
        raise UserError("tscc windows needs --window SECONDS, the window length.")

    def show(message, category, *_, **__):
        # one line per skipped file, in the command's own words
        text = " ".join(str(message).split())
        print(f"{PROG} windows: warning: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        warnings.showwarning = show
        summary = write_windows(
            list(args.inputs),
            args.out,
            chunk_size=args.chunk_size,
            n_jobs=args.jobs,
            progress=not args.quiet,
            **window_options(args),
        )
    _report(summary)
    return 0


def _report(summary):
    """Print what was written, and what the store holds."""
    shape = (
        f"{summary.n_timestamps} timestamps x {summary.n_channels} channel(s) "
        f"at {summary.sampling_rate:g} Hz"
    )
    if summary.already_complete:
        print(
            f"{summary.path} is already complete: {summary.n_windows} windows of "
            f"{shape}; nothing to do."
        )
        return
    resumed = " (resumed)" if summary.resumed else ""
    print(
        f"Wrote {summary.windows_written} windows{resumed} of {shape} from "
        f"{summary.groups_written} group(s) of files in {summary.seconds:.1f} s "
        f"({summary.windows_written / max(summary.seconds, 1e-9):.0f} windows/s)."
    )
    print(
        f"{summary.path}: {summary.n_windows} windows, {summary.n_groups} "
        f"group(s), {directory_size(summary.path)}."
    )
    if summary.skipped_files:
        print(
            f"{len(summary.skipped_files)} file(s) skipped (listed in the store's "
            "skipped_files attribute)."
        )
