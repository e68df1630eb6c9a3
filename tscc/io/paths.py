"""Turn the paths, directories and glob patterns given as input into files.

:func:`expand_paths` is the one place that does it, so that a pattern the
command line accepts is the pattern :func:`~tscc.read_windows` reads.
"""

import glob
import os

__all__ = ["expand_paths"]


def expand_paths(item):
    """The files named by a path, a directory or a glob pattern, sorted.

    Parameters
    ----------
    item : str or path-like
        A file; a directory (the files in it, not recursing, hidden files
        left out); or a glob pattern, where ``**`` matches any number of
        directories, so ``"data/**/*.mseed"`` finds the miniSEED files at
        every depth below ``data`` (``glob.glob(..., recursive=True)``).
        Directories a pattern matches are left out.

    Returns
    -------
    paths : list of str
        The files, sorted by name.

    Raises
    ------
    FileNotFoundError
        If the file does not exist, the directory holds no files or the
        pattern matches no file.

    Examples
    --------
    >>> import os, tempfile
    >>> from tscc.io import expand_paths
    >>> root = tempfile.mkdtemp()
    >>> for name in ["a.mseed", os.path.join("day2", "b.mseed")]:
    ...     os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
    ...     open(os.path.join(root, name), "w").close()
    >>> [os.path.relpath(p, root) for p in expand_paths(os.path.join(root, "*"))]
    ['a.mseed']
    >>> pattern = os.path.join(root, "**", "*.mseed")
    >>> [os.path.relpath(p, root).replace(os.sep, "/") for p in expand_paths(pattern)]
    ['a.mseed', 'day2/b.mseed']
    """
    text = os.fspath(item)
    if glob.has_magic(text):
        paths = sorted(
            path for path in glob.glob(text, recursive=True) if os.path.isfile(path)
        )
        if not paths:
            raise FileNotFoundError(f"No file matches {text}")
        return paths
    if os.path.isdir(text):
        paths = sorted(
            os.path.join(text, name)
            for name in os.listdir(text)
            if not name.startswith(".") and os.path.isfile(os.path.join(text, name))
        )
        if not paths:
            raise FileNotFoundError(f"Directory {text} holds no files.")
        return paths
    if not os.path.isfile(text):
        raise FileNotFoundError(f"No such file: {text}")
    return [text]
