"""tscc report: the page of a predictions store or a labels CSV, and its figures."""

import re
import shutil

import numpy as np
import pytest

obspy = pytest.importorskip("obspy")
zarr = pytest.importorskip("zarr")
pytest.importorskip("distributed")
pytest.importorskip("matplotlib")

from _shared import TINY  # noqa: E402
from test_cli_windows import _archive  # noqa: E402

from tscc import TSCCClusterer, WaveformNormalizer  # noqa: E402
from tscc.cli import main  # noqa: E402
from tscc.io import open_windows  # noqa: E402
from tscc.report import write_report  # noqa: E402


@pytest.fixture(scope="module")
def predicted(tmp_path_factory):
    root = _archive(tmp_path_factory.mktemp("archive"))
    (root / "README.txt").unlink()
    store = root / "windows.zarr"
    args = ["windows", str(root / "*.D.*"), "--out", str(store), "--window", "4"]
    assert main([*args, "--channels", "ENZ", "-q"]) == 0
    X = WaveformNormalizer().fit_transform(open_windows(store).X.compute())
    model = root / "model.tscc"
    TSCCClusterer(**TINY).fit(X).save(model)
    predictions = root / "predictions.zarr"
    command = ["predict", str(store), "--model", str(model), "--out"]
    assert main([*command, str(predictions), "-q"]) == 0
    labels = root / "labels.csv"
    assert main([*command, str(labels), "--proba", "-q"]) == 0
    return store, model, predictions, labels


def _images(page):
    return re.findall(r'<img src="([^"]+)"', page)


def test_a_report_of_a_predictions_store_shows_every_part(predicted, tmp_path, capsys):
    store, model, predictions, _ = predicted
    out = tmp_path / "report"
    assert main(["report", str(predictions), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "Report of 30 windows in 2 clusters (1 station(s), 5 figures)" in printed.out
    assert "Reading" in printed.err  # progress, unless --quiet
    page = (out / "index.html").read_text()
    for heading in (
        "Clusters",
        "How sure the assignments are",
        "When and where each cluster occurs",
        "What each cluster looks like",
        "Settings and provenance",
    ):
        assert f"<h2>{heading}</h2>" in page
    images = _images(page)
    assert images == [
        "certainty.png", "timeline_000.png", "rhythms.png", "waveforms.png",
        "spectra.png",
    ]  # fmt: skip
    for name in images:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "XX.STA" in page and "nearest to its centre in feature space" in page
    assert "Channel Z" in page  # Z of ENZ by default
    assert str(store.resolve()) in page and "n_clusters" in page  # provenance
    sizes = np.bincount(TSCCClusterer.load(model).predict(
        WaveformNormalizer().fit_transform(open_windows(store).X.compute())
    ), minlength=2)  # fmt: skip
    for size in sizes:
        assert f"<td>{size:,}</td>" in page


def test_a_report_of_a_labels_csv_with_the_store(predicted, tmp_path):
    store, _, _, labels = predicted
    summary = write_report(labels, tmp_path / "csv", windows=store, channel="E")
    page = (tmp_path / "csv" / "index.html").read_text()
    assert summary.n_windows == 30 and summary.stations == ("XX.STA",)
    assert "Channel E" in page and "of the highest membership" in page
    assert "The model file was not given or found" in page
    assert summary.waveforms_read == 30  # fewer windows than n_mean: all of them


def test_a_report_without_the_windows_says_how_to_show_them(predicted, tmp_path):
    _, model, _, labels = predicted
    summary = write_report(labels, tmp_path / "bare", model=model)
    page = (tmp_path / "bare" / "index.html").read_text()
    assert "pass <code>--windows STORE</code>" in page
    assert summary.waveforms_read == 0
    assert "waveforms.png" not in summary.figures
    assert "<td>max_samples</td>" in page  # the model's parameters


def test_a_moved_store_is_found_through_the_option(predicted, tmp_path):
    store, model, predictions, _ = predicted
    moved = tmp_path / "moved.zarr"
    shutil.copytree(store, moved)
    summary = write_report(predictions, tmp_path / "r", windows=moved, model=model)
    assert "waveforms.png" in summary.figures


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"channel": "X"}, "not a component of the windows store"),
        ({"channel": 5}, "out of range for 3 channel(s)"),
        ({"bin": "week"}, 'bin must be "auto", "hour" or "day"'),
        ({"n_examples": 0}, "must be at least 1"),
    ],
)
def test_bad_options_are_clear_errors(predicted, tmp_path, options, message):
    _, _, predictions, _ = predicted
    with pytest.raises(ValueError, match=re.escape(message)):
        write_report(predictions, tmp_path / "r", **options)


def test_inputs_that_are_not_predictions_are_refused(predicted, tmp_path, capsys):
    store, _, _, labels = predicted
    assert main(["report", str(store), "--out", str(tmp_path / "r")]) == 2
    assert "holds no labels" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "none.zarr"), "--out", "r"]) == 2
    assert "No such predictions store" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("index,cluster\n0,1\n")
    assert main(["report", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "no 'label' column" in capsys.readouterr().err
    short = tmp_path / "short.csv"
    short.write_text("label\n0\n1\n")  # rows 0..1 of a 30-window store
    with pytest.raises(ValueError, match="hold 2 labels, but the windows store"):
        write_report(short, tmp_path / "r", windows=store)


def test_the_report_leaves_the_matplotlib_backend_as_it_was(predicted, tmp_path):
    import matplotlib

    _, _, predictions, _ = predicted
    before = matplotlib.get_backend()
    write_report(predictions, tmp_path / "r")
    assert matplotlib.get_backend() == before


@pytest.mark.slow
def test_the_report_renders_in_a_headless_chromium(predicted, tmp_path):
    """The page in a real browser: every picture loads, the console stays clean."""
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("Chromium and ChromeDriver (Debian: chromium chromium-driver)")
    _, _, predictions, _ = predicted
    summary = write_report(predictions, tmp_path / "report")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=driver_path)
    browser = webdriver.Chrome(options=options, service=service)
    try:
        browser.set_window_size(1200, 1600)
        browser.get((tmp_path / "report" / "index.html").as_uri())
        images = browser.execute_script(
            "return Array.from(document.images, i => [i.getAttribute('src'), "
            "i.complete, i.naturalWidth]);"
        )
        errors = [
            entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
        ]
        browser.save_screenshot(str(tmp_path / "report.png"))
    finally:
        browser.quit()
    assert [name for name, _, _ in images] == list(name for name in summary.figures)
    assert all(complete and width > 100 for _, complete, width in images), images
    assert errors == []
    assert (tmp_path / "report.png").stat().st_size > 10_000
