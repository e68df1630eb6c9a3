"""Read series from ``.npy``, ``.npz`` and ``.csv`` files.

:func:`~tscc.load_array` reads one array of series (and the labels of an
``.npz`` file, if it holds them) from a file, refusing pickled objects.
"""

import csv
from pathlib import Path

import numpy as np

__all__ = ["ARRAY_SUFFIXES", "load_array"]

#: File name suffixes read by :func:`~tscc.load_array`.
ARRAY_SUFFIXES = (".npy", ".npz", ".csv")


def load_array(path):
    """Read series from a ``.npy``, ``.npz`` or ``.csv`` file.

    Parameters
    ----------
    path : str or path-like
        ``.npy``: one array. ``.npz``: the array ``X`` (or the only array in
        the file) and, if present, the labels ``y``. ``.csv``: one series per
        row, comma-separated; an optional header line (any non-numeric first
        line) is skipped, and empty cells and shorter rows become NaN (missing
        timestamps, so variable-length series are NaN-padded at the end).
        Pickled objects are never loaded.

    Returns
    -------
    X : ndarray of shape (n_series, n_timestamps) or \
            (n_series, n_timestamps, n_channels)
        The series, as stored (``.csv``: float64).
    y : ndarray of shape (n_series,) or None
        The ``y`` array of an ``.npz`` file, else None.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the suffix is not one of :data:`~tscc.io.arrays.ARRAY_SUFFIXES`, the file
        cannot be parsed, or the array is not 2-D or 3-D.

    See Also
    --------
    read_windows : Windows cut from seismic recordings.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from tscc.io import load_array
    >>> path = os.path.join(tempfile.mkdtemp(), "series.csv")
    >>> with open(path, "w") as f:
    ...     for line in ["t0,t1,t2", "1,2,3", "4,5"]:
    ...         print(line, file=f)
    >>> X, y = load_array(path)
    >>> X
    array([[ 1.,  2.,  3.],
           [ 4.,  5., nan]])
    >>> print(y)
    None
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ARRAY_SUFFIXES:
        raise ValueError(
            f"Unknown array format {suffix or '(no suffix)'!r} of {path}: "
            f"load_array reads {', '.join(ARRAY_SUFFIXES)} files."
        )
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    y = None
    try:
        if suffix == ".npy":
            X = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            X, y = _load_npz(path)
        else:
            X = _load_csv(path)
    except (ValueError, OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        message = str(exc)
        if not message.startswith(str(path)):
            message = f"{path} cannot be read as {suffix}: {message}"
        raise ValueError(message) from exc
    if X.ndim not in (2, 3):
        raise ValueError(
            f"{path} holds an array of shape {X.shape}; expected series of shape "
            "(n_series, n_timestamps) or (n_series, n_timestamps, n_channels)."
        )
    if y is not None and (y.ndim != 1 or y.shape[0] != X.shape[0]):
        raise ValueError(
            f"{path}: y of shape {y.shape} does not give one label per series "
            f"of X (shape {X.shape})."
        )
    return X, y


def _load_npz(path):
    def pick(names):
        if "X" not in names and len(names) != 1:
            raise ValueError(
                f"{path} holds no array named 'X' (arrays: "
                f"{', '.join(names) or 'none'}); save the series as X, e.g. "
                "np.savez(path, X=X)."
            )
        series = "X" if "X" in names else names[0]
        return [series, "y"] if "y" in names else [series]

    arrays = _read_npz(path, pick)
    return next(iter(arrays.values())), arrays.get("y")  # the series come first


def _read_npz(file, pick):
    """The arrays of an ``.npz`` archive that ``pick`` chooses, by name.

    ``pick`` is called with the list of the names in the archive and returns
    the names to read, or raises if the archive lacks what the caller needs;
    only the chosen arrays are decompressed. Pickled objects are refused
    (``allow_pickle=False``), so a file cannot run code when it is read.
    """
    with np.load(file, allow_pickle=False) as archive:
        return {name: archive[name] for name in pick(list(archive.files))}


def _load_csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        rows = [row for row in csv.reader(file) if any(cell.strip() for cell in row)]
    if rows and not _is_numeric_row(rows[0]):
        rows = rows[1:]  # a header line
    if not rows:
        raise ValueError(f"{path} holds no series.")
    width = max(map(len, rows))
    cells = [[cell.strip() or "nan" for cell in row] for row in rows]
    padded = [row + ["nan"] * (width - len(row)) for row in cells]
    try:
        return np.array(padded, dtype=float)
    except ValueError as exc:
        raise ValueError(_first_bad_cell(path, padded) or f"{path}: {exc}") from None


def _first_bad_cell(path, rows):
    """Message naming the first cell that is not a number, or None."""
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            try:
                float(cell)
            except ValueError:
                return (
                    f"{path}: value {cell!r} in data line {i + 1}, column {j + 1} "
                    "is not a number."
                )
    return None


def _is_numeric_row(row):
    for cell in row:
        cell = cell.strip()
        if cell:
            try:
                float(cell)
            except ValueError:
                return False
    return True
