"""The archive path: miniSEED files -> windows -> fit -> predict -> report."""

import numpy as np
import pytest

pytest.importorskip("obspy")
zarr = pytest.importorskip("zarr")
pytest.importorskip("distributed")
pytest.importorskip("matplotlib")

from sklearn.metrics import normalized_mutual_info_score  # noqa: E402

from tscc import TSCCClusterer, WaveformNormalizer  # noqa: E402
from tscc.archive import write_event_archive  # noqa: E402
from tscc.cli import main  # noqa: E402
from tscc.io import open_windows  # noqa: E402


def _path(tmp_path, fit_options, hours):
    archive = write_event_archive(tmp_path / "archive", hours=hours, random_state=1)
    store, model = tmp_path / "windows.zarr", tmp_path / "model.tscc"
    predictions, report = tmp_path / "predictions.zarr", tmp_path / "report"
    pattern = str(tmp_path / "archive" / "**" / "*.mseed")
    assert main(["windows", pattern, "--out", str(store), "--window", "4",
                 "--channels", "ENZ", "--bandpass", "1", "20", "-q"]) == 0  # fmt: skip
    assert main(["fit", str(store), "--n-clusters", "2", "--model", str(model),
                 "-q", *fit_options]) == 0  # fmt: skip
    assert main(["predict", str(store), "--model", str(model), "--workers", "2",
                 "--out", str(predictions), "-q"]) == 0  # fmt: skip
    assert main(["report", str(predictions), "--out", str(report), "-q"]) == 0
    written = zarr.open_group(predictions, mode="r")
    holds = archive.holds_event(
        np.array(written["trace_id"][:].tolist(), dtype=str),
        np.array(written["starttime"][:].tolist(), dtype=str),
    )
    return archive, store, model, written, holds, report


def test_the_archive_path_at_a_tiny_size(tmp_path):
    fit = ["--max-samples", "120", "--depth", "1", "--hidden-dims", "8",
           "--pretrain-steps", "3", "--finetune-steps", "2",
           "--batch-size", "16"]  # fmt: skip
    archive, store, model, written, holds, report = _path(tmp_path, fit, hours=0.1)
    assert len(archive.files) == 4 and holds.any() and not holds.all()
    X = WaveformNormalizer().fit_transform(open_windows(store).X.compute())
    fitted = TSCCClusterer.load(model)
    assert fitted.max_samples_ == 120
    np.testing.assert_array_equal(written["labels"][:], fitted.predict(X))
    page = (report / "index.html").read_text()
    assert page.count("<h3>XX.ST0") == 2  # a timeline per station
    assert (report / "waveforms.png").exists()


def test_events_at_known_times_are_found_in_the_windows_that_hold_them(tmp_path):
    archive = write_event_archive(tmp_path, hours=0.05, random_state=3)
    starts = np.datetime64("2024-03-01T00:00:00") + np.arange(45) * np.timedelta64(
        4, "s"
    )
    holds = archive.holds_event(np.full(45, "XX.ST02..HH?"), starts.astype(str))
    mine = archive.event_time[archive.event_station == "XX.ST02"]
    day1 = mine[mine < np.datetime64("2024-03-02")]
    assert holds.sum() == day1.size
    index = ((day1 - starts[0]) // np.timedelta64(4, "s")).astype(int)
    assert holds[index].all()


@pytest.mark.slow
def test_events_come_out_as_their_own_cluster(tmp_path):
    """The gallery example's path and settings: the events make one cluster."""
    fit = ["--max-samples", "1000", "--depth", "3", "--hidden-dims", "32",
           "--pretrain-steps", "300", "--finetune-steps", "40"]  # fmt: skip
    *_, written, holds, _ = _path(tmp_path, fit, hours=1.5)
    nmi = normalized_mutual_info_score(holds, written["labels"][:])
    assert nmi > 0.7, nmi
