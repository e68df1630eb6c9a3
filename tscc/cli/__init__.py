"""The ``tscc`` command line: demo, fit, predict, transform, windows and report.

Run ``tscc --help`` or ``python -m tscc --help``; every subcommand takes
``--help`` too. Errors the user can fix (a missing file, an unknown format,
ObsPy not installed, series of the wrong shape, a file that is not a tscc
model, a bad parameter) are reported as one line on stderr with exit status
2; an interrupted run exits with status 130.

One module per subcommand (:mod:`tscc.cli.demo`, :mod:`~tscc.cli.fit`,
:mod:`~tscc.cli.predict`, :mod:`~tscc.cli.transform`,
:mod:`~tscc.cli.windows`, :mod:`~tscc.cli.report`), each with
``add_parser(commands)`` and ``run(args)``; the parts they share are the
options (``_options``: the estimator's options are generated from
:class:`~tscc.TSCCClusterer`'s parameter constraints and docstring), the
input (``_inputs``, through :func:`tscc.io.open_series`), the output
(``_output``) and the Dask client (``_dask``).
"""

import argparse
import os
import sys

from .._version import __version__
from . import demo, fit, predict, report, transform, windows
from ._common import PROG, UserError

__all__ = ["build_parser", "main"]

#: The subcommands' modules, in the order ``tscc --help`` lists them.
COMMANDS = (demo, fit, predict, transform, windows, report)


def main(argv=None):
    """Run the ``tscc`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; ``None`` reads
        ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 for an error in the input or the options, 130 when
        interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output left (``tscc predict ... | head``): not an
        # error of ours; stdout goes to devnull so that exiting flushes nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UserError, ValueError, TypeError, ImportError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 2


def build_parser():
    """Return the :class:`argparse.ArgumentParser` of the ``tscc`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser, with one subparser per subcommand; the parsed namespace's
        ``run`` attribute is the function that runs the subcommand.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Cluster time series and seismic waveforms without labels with "
            "TSCC (time series contrastive clustering)."
        ),
        epilog=(
            "INPUT is a .npy/.npz (array X)/.csv (one series per row) file, "
            "seismic files, directories or globs read with ObsPy (pip install "
            '"tscc[seismic]") and cut into --window second windows, or a '
            "windows store written by 'tscc windows'. "
            "Run 'tscc SUBCOMMAND --help' for the options of each."
        ),
    )
    parser.add_argument("--version", action="version", version=f"tscc {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    for command in COMMANDS:
        command.add_parser(commands)
    return parser
