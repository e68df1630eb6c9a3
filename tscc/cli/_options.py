"""Options shared by the subcommands; the estimator's are generated.

:func:`add_estimator_options` offers every parameter of
:class:`~tscc.TSCCClusterer` as an option, read from the estimator when the
parser is built: the type (and the words it accepts) from
``_parameter_constraints``, the help from the first sentence of the
parameter's entry in the class docstring, the default from the estimator. A
parameter added to the estimator is an option of ``tscc fit`` without a
change here; only a constraint of a kind never seen before needs a rule in
:func:`option_type` (building the parser says so).
"""

import argparse
import inspect
import re
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..estimator import TSCCClusterer

#: Estimator parameters that are no options: ``verbose`` is ``--quiet``'s.
EXCLUDED = ("verbose",)

# Where an option differs from its parameter: a required --n-clusters, and a
# seed of 0 so that two runs give the same clusters.
_OVERRIDES = {
    "n_clusters": {"required": True, "metavar": "K"},
    "random_state": {"default": 0},
}


def positive_int(text):
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _int_or_float(text):
    try:
        return int(text)
    except ValueError:
        return float(text)


_NOUNS = {
    int: "an integer",
    float: "a number",
    _int_or_float: "a number of series or a share in (0, 1]",
}


def number_or(words, number=int):
    """An argparse type: a ``number``, or a word (any case) of ``words``.

    Parameters
    ----------
    words : dict of str to object
        Lower-case words and the values they stand for.
    number : callable, default=int
        ``int``, ``float``, or a parser of either.

    Returns
    -------
    parse : callable
    """

    def parse(text):
        if text.lower() in words:
            return words[text.lower()]
        try:
            return number(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be {_NOUNS[number]} or {_quoted(words)}, got {text!r}"
            ) from None

    return parse


def names_or_none(names):
    """An argparse type: one of ``names``, or "none" for None."""

    def parse(text):
        if text == "none":
            return None
        if text in names:
            return text
        raise argparse.ArgumentTypeError(
            f"must be {_quoted([*sorted(names), 'none'])}, got {text!r}"
        )

    return parse


def _quoted(words):
    words = [f'"{word}"' for word in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# ---------------------------------------------------------------------------
# The estimator's options
# ---------------------------------------------------------------------------


def option_type(name, constraints):
    """The argparse settings of a parameter, from its scikit-learn constraints.

    Parameters
    ----------
    name : str
        The parameter.
    constraints : list
        Its entry in ``_parameter_constraints``.

    Returns
    -------
    settings : dict
        ``type`` and, for a choice of words, ``choices`` or ``metavar``;
        ``accepts`` names the words a number option also takes.

    Raises
    ------
    TypeError
        If no constraint is one the command line can take.
    """
    kinds = {c.type for c in constraints if isinstance(c, Interval)}
    if "random_state" in constraints:
        kinds.add(Integral)  # a seed
    words = set().union(*(c.options for c in constraints if isinstance(c, StrOptions)))
    if str in constraints:  # any string: a path, a device name
        return {"type": str}
    if kinds:
        number = {
            frozenset({Integral}): int,
            frozenset({Real}): float,
        }.get(frozenset(kinds), _int_or_float)
        values = {word.lower(): word for word in words}
        if None in constraints:
            values["none"] = None
        if not values:
            return {"type": number}
        return {"type": number_or(values, number), "accepts": _quoted(values)}
    if words and None in constraints:
        return {
            "type": names_or_none(words),
            "metavar": "{" + ",".join([*sorted(words), "none"]) + "}",
        }
    if words:
        return {"type": str, "choices": sorted(words)}
    raise TypeError(
        f"The command line has no type for {name!r}, constrained by "
        f"{constraints!r}: give it a rule in tscc/cli/_options.py or add it to "
        "EXCLUDED."
    )


def parameter_help(estimator):
    """First sentence of each parameter's entry in a numpydoc class docstring.

    Parameters
    ----------
    estimator : type
        A class whose docstring has a ``Parameters`` section.

    Returns
    -------
    help : dict of str to str
        Parameter name to the first sentence of its first paragraph (up to a
        blank line or a list), reST markup removed.
    """
    lines = inspect.cleandoc(estimator.__doc__ or "").splitlines()
    if "Parameters" not in lines:
        return {}
    entries, name, open_paragraph = {}, None, False
    for line in lines[lines.index("Parameters") + 2 :]:
        if line and not line.startswith(" "):
            match = re.match(r"(\w+) :", line)
            if match is None:  # the next section
                break
            name, open_paragraph = match.group(1), True
            entries[name] = []
        elif not line.strip() or line.strip().startswith(("- ", "* ")):
            open_paragraph = False
        elif name is not None and open_paragraph:
            entries[name].append(line.strip())
    return {name: _first_sentence(" ".join(words)) for name, words in entries.items()}


def _first_sentence(text):
    sentence = re.split(r"(?<=[.!?])\s+(?=[A-Z\"(`0-9])", text, maxsplit=1)[0]
    sentence = re.sub(
        r":\w+:`~?([^`]*)`", lambda m: m.group(1).split(".")[-1], sentence
    )
    return sentence.replace("``", "").rstrip(".:")


def add_estimator_options(
    parser, *, names=None, default_text=None, estimator=TSCCClusterer
):
    """Add an option for each parameter of the estimator to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser or argument group
        Where the options go.
    names : sequence of str, default=None
        The parameters to offer; ``None``: every one but :data:`EXCLUDED`.
    default_text : callable, default=None
        ``default_text(name)`` is the default shown in the help, or None for
        the estimator's (or the overridden one); ``None`` always shows that.
    estimator : type, default=TSCCClusterer
        The estimator, with ``_parameter_constraints`` and a numpydoc
        docstring.

    Returns
    -------
    names : tuple of str
        The parameters offered. An option left out on the command line is
        absent from the parsed namespace (``argparse.SUPPRESS``), except
        those with a default of the command line's own (``--random-state``).
    """
    defaults = estimator().get_params()
    constraints = estimator._parameter_constraints
    sentences = parameter_help(estimator)
    if names is None:  # in the order of the estimator's signature
        signature = inspect.signature(estimator.__init__).parameters
        names = [name for name in signature if name in defaults]
        names += [name for name in defaults if name not in names]
        names = [name for name in names if name not in EXCLUDED]
    for name in names:
        settings = {
            "dest": name,
            "default": argparse.SUPPRESS,
            "metavar": name.split("_")[-1].upper(),
            **option_type(name, constraints[name]),
            **_OVERRIDES.get(name, {}),
        }
        if "choices" in settings:
            del settings["metavar"]  # argparse lists the choices
        shown = settings["default"]
        if shown is argparse.SUPPRESS:
            shown = defaults[name]
        if default_text is not None and default_text(name) is not None:
            shown = default_text(name)
        sentence = sentences.get(name, name.replace("_", " "))
        accepts = settings.pop("accepts", None)
        accepts = f"or {accepts}; " if accepts else ""
        shown = "required" if settings.get("required") else f"default: {shown}"
        settings["help"] = f"{sentence} ({accepts}{shown})".replace("%", "%%")
        parser.add_argument("--" + name.replace("_", "-"), **settings)
    return tuple(names)


# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------


def add_input_options(parser, *, fit):
    """INPUT, the seismic options and ``--normalize``, as fit and predict take them."""
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help=(
            "a .npy, .npz or .csv file, seismic files, directories or glob "
            "patterns (quote the pattern to let tscc expand it), or a windows "
            "store written by 'tscc windows'"
        ),
    )
    add_seismic_options(
        parser,
        ""
        if fit
        else " Use the --window, --channels, --bandpass and --sampling-rate "
        "of the fit.",
    )
    parser.add_argument(
        "--normalize",
        choices=("auto", "maxabs", "zscore", "none"),
        default="auto",
        help=(
            "demean, detrend and scale each series (WaveformNormalizer) before "
            "clustering; auto: maxabs for seismic input and windows stores, "
            "none for arrays (default: auto; use the same value for fit and "
            "predict)"
        ),
    )


def add_model_input_options(parser):
    """``--model``, INPUT and ``--device``, as predict and transform take them."""
    parser.add_argument(
        "--model", required=True, metavar="FILE", help="model written by tscc fit"
    )
    add_input_options(parser, fit=False)
    parser.add_argument(
        "--device",
        help="torch device to encode on (default: the model's, else the CPU)",
    )


def add_seismic_options(parser, note=""):
    """The windowing options of seismic input, shared by the subcommands."""
    group = parser.add_argument_group(
        "seismic input",
        "Reading miniSEED, SAC and other ObsPy formats (needs ObsPy: pip "
        'install "tscc[seismic]").' + note,
    )
    group.add_argument(
        "--window", type=float, metavar="SECONDS", help="window length in seconds"
    )
    group.add_argument(
        "--step",
        type=float,
        metavar="SECONDS",
        help="seconds between window starts (default: the window length)",
    )
    group.add_argument(
        "--channels",
        metavar="LETTERS",
        help=(
            'component letters stacked as channels, e.g. "Z" or "ENZ" '
            "(default: every trace on its own)"
        ),
    )
    group.add_argument(
        "--bandpass",
        type=float,
        nargs=2,
        metavar=("FREQMIN", "FREQMAX"),
        help="zero-phase Butterworth bandpass in Hz before windowing",
    )
    group.add_argument(
        "--sampling-rate",
        type=float,
        metavar="HZ",
        help="resample traces recorded at other rates to this one",
    )
    group.add_argument(
        "--gaps",
        choices=("skip", "nan"),
        default="skip",
        help=(
            "windows overlapping a gap: drop them, or keep them with NaN "
            "(missing) samples (default: skip)"
        ),
    )
    group.add_argument("--format", help='ObsPy format name, e.g. "MSEED" or "SAC"')
    return group


def window_options(args):
    """The windowing keywords of read_windows and write_windows given as options."""
    return {
        "window": args.window,
        "step": args.step,
        "channels": args.channels,
        "bandpass": args.bandpass,
        "sampling_rate": args.sampling_rate,
        "gaps": args.gaps,
        "format": args.format,
    }


def add_dask_options(parser):
    """``--scheduler`` and ``--workers``: where predict and transform run on a store."""
    cluster = parser.add_argument_group(
        "Dask (a windows store from 'tscc windows' as INPUT; needs tscc[dask])"
    )
    where = cluster.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786",
    )
    where.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="start a local Dask cluster of N single-threaded worker processes",
    )
    cluster.add_argument(
        "-q", "--quiet", action="store_true", help="show no progress bar"
    )
    return cluster
