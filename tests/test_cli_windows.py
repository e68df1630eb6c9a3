import numpy as np
import pytest

obspy = pytest.importorskip("obspy")
pytest.importorskip("zarr")
pytest.importorskip("dask.array")

from tscc.cli import main  # noqa: E402
from tscc.io import open_windows, read_windows  # noqa: E402


def _archive(root):
    """Z, N and E day files of two days of one station (60 s of data each)."""
    for day in range(2):
        for seed, component in enumerate("ENZ"):
            trace = obspy.Trace(
                np.random.default_rng(seed + 3 * day).normal(size=1200),
                header={
                    "network": "XX",
                    "station": "STA",
                    "channel": f"HH{component}",
                    "sampling_rate": 20.0,
                    "starttime": obspy.UTCDateTime(2020, 1, 1 + day),
                },
            )
            name = f"XX.STA..HH{component}.D.2020.{day + 1:03d}"
            trace.write(str(root / name), format="MSEED")
    (root / "README.txt").write_text("not a seismogram")
    return root


def test_windows_end_to_end_and_rerun(tmp_path, capsys):
    root = _archive(tmp_path)
    out = tmp_path / "w.zarr"
    args = [str(root / "*.D.*"), "--out", str(out), "--window", "4", "--quiet"]
    assert main(["windows", *args, "--channels", "ENZ", "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "Wrote 30 windows of 80 timestamps x 3 channel(s) at 20 Hz" in text
    assert f"{out}: 30 windows, 2 group(s)" in text
    expected = read_windows(str(root / "*.D.*"), window=4.0, channels="ENZ")
    np.testing.assert_array_equal(open_windows(out).X.compute(), expected.X)

    assert main(["windows", *args, "--channels", "ENZ"]) == 0
    assert "already complete: 30 windows" in capsys.readouterr().out

    assert main(["windows", *args, "--channels", "Z"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("tscc windows: error: The windows store")
    assert "other options: channels='ENZ'" in error and "\n" not in error


def test_windows_skips_unreadable_files_with_a_warning(tmp_path, capsys):
    root = _archive(tmp_path)
    out = tmp_path / "w.zarr"
    assert main(["windows", str(root), "--out", str(out), "--window", "4", "-q"]) == 0
    captured = capsys.readouterr()
    assert "tscc windows: warning: Skipped" in captured.err
    assert "README.txt" in captured.err
    assert "1 file(s) skipped" in captured.out
    assert len(open_windows(out)) == 90  # 6 traces x 15 windows


def test_windows_errors(tmp_path, capsys):
    assert (
        main(
            [
                "windows",
                str(tmp_path / "none.mseed"),
                "--out",
                "w.zarr",
                "--window",
                "1",
            ]
        )
        == 2
    )
    assert "No such file" in capsys.readouterr().err
    _archive(tmp_path)
    assert main(["windows", str(tmp_path), "--out", str(tmp_path / "w")]) == 2
    assert "needs --window SECONDS" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["windows", str(tmp_path), "--window", "1"])  # no --out
    assert "--out" in capsys.readouterr().err
