import os

import pytest

from tscc.io import expand_paths


@pytest.fixture
def tree(tmp_path):
    """d/top.mseed, d/a/x.npy, d/b/c/y.mseed, a hidden file and an empty folder."""
    root = tmp_path / "d"
    for name in ["top.mseed", "a/x.npy", "b/c/y.mseed", ".hidden.mseed"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    (root / "empty").mkdir()
    return root


def _relative(paths, root):
    return [os.path.relpath(path, root).replace(os.sep, "/") for path in paths]


def test_double_star_matches_files_at_every_depth(tree):
    assert _relative(expand_paths(tree / "**" / "*.mseed"), tree) == [
        "b/c/y.mseed",
        "top.mseed",
    ]
    # folders the pattern matches are left out, and so are hidden files
    assert _relative(expand_paths(str(tree / "**")), tree) == [
        "a/x.npy",
        "b/c/y.mseed",
        "top.mseed",
    ]
    assert _relative(expand_paths(tree / "**" / "x.npy"), tree) == ["a/x.npy"]


def test_single_star_and_directory_stay_at_one_level(tree):
    assert _relative(expand_paths(tree / "*"), tree) == ["top.mseed"]
    assert _relative(expand_paths(tree / "*" / "*.npy"), tree) == ["a/x.npy"]
    assert _relative(expand_paths(tree), tree) == ["top.mseed"]
    assert expand_paths(tree / "a" / "x.npy") == [str(tree / "a" / "x.npy")]


def test_errors(tree):
    with pytest.raises(FileNotFoundError, match="No such file: .*missing.mseed"):
        expand_paths(tree / "missing.mseed")
    with pytest.raises(FileNotFoundError, match="No file matches .*sac"):
        expand_paths(tree / "**" / "*.sac")
    with pytest.raises(FileNotFoundError, match="No file matches"):
        expand_paths(tree / "b" / "*")  # matches a folder only
    with pytest.raises(FileNotFoundError, match="Directory .*empty holds no files"):
        expand_paths(tree / "empty")
