import argparse
import csv
import importlib.util
import os
import subprocess
import sys
from numbers import Integral, Real

import numpy as np
import pytest
from sklearn.utils._param_validation import Interval, StrOptions

from tscc import TSCCClusterer
from tscc.cli import build_parser, main
from tscc.cli._options import (
    EXCLUDED,
    add_estimator_options,
    option_type,
    parameter_help,
)

TINY = [
    "--depth",
    "2",
    "--hidden-dims",
    "8",
    "--pretrain-epochs",
    "1",
    "--finetune-epochs",
    "1",
    "--n-init",
    "1",
    "--device",
    "cpu",
]


def tscc(*args, cwd, env=None):
    """Run ``python -m tscc ARGS`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "tscc", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def assert_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert "\n" not in message, message  # one line, no traceback
    assert message.startswith("tscc ") and "error:" in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Tiny data sets and one fitted model, shared by the tests."""
    path = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 32)
    X = np.vstack(
        [
            np.sin(2 * np.pi * 2 * t) + 0.1 * rng.normal(size=(10, 32)),
            np.sign(np.sin(2 * np.pi * 6 * t)) + 0.1 * rng.normal(size=(10, 32)),
        ]
    )
    np.save(path / "x.npy", X)
    np.savez(path / "x.npz", X=X, y=np.repeat([0, 1], 10))
    np.savetxt(path / "x.csv", X, delimiter=",")
    np.save(path / "short.npy", X[:, :20])
    result = tscc(
        "fit",
        "x.npy",
        "--n-clusters",
        2,
        "--model",
        "model.tscc",
        "--labels",
        "labels.csv",
        *TINY,
        cwd=path,
    )
    assert result.returncode == 0, result.stderr
    return path, X, result


# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------


def test_fit_writes_safe_model_and_labels(work):
    path, X, result = work
    if importlib.util.find_spec("tqdm"):
        assert "pretraining: 100%" in result.stderr  # a progress bar per phase
        assert "fine-tuning: 100%" in result.stderr
    else:
        assert "[TSCC] pretrain epoch 1/1" in result.stdout
    assert "Model written to model.tscc" in result.stdout
    model = TSCCClusterer.load(path / "model.tscc")
    assert model.n_clusters == 2 and model.depth == 2 and model.random_state == 0
    rows = read_csv(path / "labels.csv")
    assert list(rows[0]) == ["index", "source", "label"]
    assert [int(row["index"]) for row in rows] == list(range(20))
    assert {row["source"] for row in rows} == {"x.npy"}
    labels = np.array([int(row["label"]) for row in rows])
    np.testing.assert_array_equal(labels, model.labels_)


def test_fit_quiet_shows_no_progress(work):
    path, _, _ = work
    result = tscc(
        "fit",
        "x.npy",
        "--n-clusters",
        2,
        "--model",
        "quiet.tscc",
        "--quiet",
        *TINY,
        cwd=path,
    )
    assert result.returncode == 0, result.stderr
    assert "pretrain" not in result.stdout + result.stderr
    assert "Model written to quiet.tscc" in result.stdout


def test_predict_csv_and_npz_input_with_proba(work):
    path, _, _ = work
    model = TSCCClusterer.load(path / "model.tscc")
    result = tscc("predict", "--model", "model.tscc", "x.csv", "--proba", cwd=path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "index,source,label,proba_0,proba_1"
    rows = [line.split(",") for line in lines[1:]]
    np.testing.assert_array_equal([int(r[2]) for r in rows], model.labels_)
    proba = np.array([[float(r[3]), float(r[4])] for r in rows])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)

    # the same in-process, writing a file
    out = path / "pred.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(path / "model.tscc"),
                str(path / "x.npz"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = read_csv(out)
    assert list(rows[0]) == ["index", "source", "label"]
    np.testing.assert_array_equal([int(r["label"]) for r in rows], model.labels_)


def test_transform_npy_and_npz(work):
    path, X, _ = work
    model = TSCCClusterer.load(path / "model.tscc")
    result = tscc(
        "transform", "--model", "model.tscc", "x.npy", "--out", "r.npz", cwd=path
    )
    assert result.returncode == 0, result.stderr
    with np.load(path / "r.npz") as archive:
        np.testing.assert_allclose(archive["features"], model.transform(X))
        assert archive["source"].tolist() == ["x.npy"] * 20
    out = path / "r.npy"
    args = ["transform", "--model", str(path / "model.tscc"), str(path / "x.csv")]
    assert main([*args, "--out", str(out)]) == 0
    np.testing.assert_allclose(np.load(out), model.transform(X))
    assert main([*args, "--out", str(path / "r.txt")]) == 2


def test_seismic_fit_and_predict_carry_provenance(tmp_path, capsys):
    obspy = pytest.importorskip("obspy")
    rng = np.random.default_rng(0)
    stream = obspy.Stream(
        [
            obspy.Trace(
                rng.normal(size=2000) * (1 + 10 * (np.arange(2000) % 400 < 50)),
                header={
                    "network": "XX",
                    "station": "STA",
                    "channel": f"HH{component}",
                    "sampling_rate": 100.0,
                    "starttime": obspy.UTCDateTime(2021, 5, 1),
                },
            )
            for component in "ENZ"
        ]
    )
    stream.write(str(tmp_path / "day.mseed"), format="MSEED")
    options = ["--window", "1", "--step", "0.5", "--channels", "ENZ"]
    result = tscc(
        "fit",
        "*.mseed",
        "--n-clusters",
        2,
        *options,
        "--bandpass",
        1,
        20,
        "--labels",
        "labels.csv",
        *TINY,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "39 series of 100 timestamps x 3 channel(s)" in result.stdout
    rows = read_csv(tmp_path / "labels.csv")
    assert list(rows[0]) == ["index", "source", "trace_id", "starttime", "label"]
    assert rows[3]["source"] == "day.mseed"
    assert rows[3]["trace_id"] == "XX.STA..HH?"
    assert rows[3]["starttime"] == "2021-05-01T00:00:01.500000Z"

    # predict in-process: the same reading options are needed
    model, mseed = str(tmp_path / "model.tscc"), str(tmp_path / "day.mseed")
    assert main(["predict", "--model", model, mseed]) == 2
    assert "needs --window" in capsys.readouterr().err
    assert main(["predict", "--model", model, mseed, "--window", "2"]) == 2
    assert "Mismatched shapes" in capsys.readouterr().err
    assert main(["predict", "--model", model, mseed, *options]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 40 and out[0].startswith("index,source,trace_id,starttime")


def test_double_star_input_reads_files_at_every_depth(work, tmp_path):
    obspy = pytest.importorskip("obspy")
    path, _, _ = work
    files = ["top.mseed", "a/x.mseed", "b/c/y.mseed"]
    rng = np.random.default_rng(0)
    for i, name in enumerate(files):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        trace = obspy.Trace(
            rng.normal(size=64),
            header={"station": f"S{i}", "channel": "HHZ", "sampling_rate": 100.0},
        )
        trace.write(str(tmp_path / name), format="MSEED")
    out = tmp_path / "r.npz"
    pattern = str(tmp_path / "**" / "*.mseed")
    args = ["--model", str(path / "model.tscc"), pattern, "--window", "0.32"]
    assert main(["transform", *args, "--out", str(out)]) == 0
    with np.load(out) as archive:
        assert archive["features"].shape[0] == 6  # two windows a file
        sources = sorted(set(archive["source"].tolist()))
    assert sources == sorted(str(tmp_path / name) for name in files)


def test_demo_tiny_run_writes_table_and_figures(tmp_path, capsys):
    # in-process: the subprocess run is test_demo_quick (slow)
    figures = tmp_path / "figures"
    options = ["--depth", "2", "--hidden-dims", "8", "--device", "cpu"]
    epochs = ["--pretrain-epochs", "1", "--finetune-epochs", "1"]
    assert main(["demo", *epochs, *options, "--out-dir", str(figures)]) == 0
    out = capsys.readouterr().out
    assert "462 PhaseNet windows" in out
    assert "K-means on the waveforms" in out
    assert "ACC    NMI    ARI  seconds" in out
    if importlib.util.find_spec("matplotlib"):
        for name in ("embedding.png", "cluster_waveforms.png", "history.png"):
            assert (figures / name).stat().st_size > 1000


@pytest.mark.slow
def test_demo_quick(tmp_path):
    result = tscc("demo", "--quick", "--no-plots", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Quick run, shortened from" in result.stdout
    assert not (tmp_path / "tscc-demo").exists()
    rows = {
        line[:28].strip(): [float(value) for value in line[28:].split()]
        for line in result.stdout.splitlines()
        if line[:28].strip() in ("TSCC", "K-means on the waveforms")
    }
    tscc_acc, kmeans_acc = rows["TSCC"][0], rows["K-means on the waveforms"][0]
    # what the quick demo promises: the method clearly ahead of K-means
    assert tscc_acc >= 0.80 and tscc_acc > kmeans_acc + 0.05


# ---------------------------------------------------------------------------
# Help
# ---------------------------------------------------------------------------


def test_help_in_subprocess(tmp_path):
    result = tscc("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("demo", "fit", "predict", "transform"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["demo", "fit", "predict", "transform"])
def test_subcommand_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tscc {command}")


@pytest.mark.parametrize(
    "option, values, refused",
    [
        ("--feature-norm", {"l2": "l2", "none": None}, "unit"),
        ("--augment", {"waveform": "waveform", "none": None}, "noise"),
        ("--depth", {"3": 3, "auto": "auto", "AUTO": "auto"}, "deep"),
        ("--max-train-length", {"500": 500, "none": None}, "long"),
        ("--max-samples", {"800": 800, "0.25": 0.25, "none": None}, "many"),
        ("--cluster-weight", {"0.5": 0.5, "auto": "auto"}, "heavy"),
        ("--cluster-loss", {"fcm": "fcm", "fcm_ratio": "fcm_ratio"}, "kmeans"),
    ],
)
def test_generated_option_types(option, values, refused, capsys):
    parser = build_parser()
    dest = option[2:].replace("-", "_")
    for text, value in values.items():
        args = parser.parse_args(["fit", "x.npy", "--n-clusters", "2", option, text])
        assert getattr(args, dest) == value, text
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["fit", "x.npy", "--n-clusters", "2", option, refused])
    assert exit_info.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err


def test_left_out_options_keep_the_estimator_default():
    args = build_parser().parse_args(["fit", "x.npy", "--n-clusters", "3"])
    params = {
        name: getattr(args, name)
        for name in args.estimator_params
        if hasattr(args, name)
    }
    # only the required option and the command line's own seed are set
    assert params == {"n_clusters": 3, "random_state": 0}


def test_a_new_estimator_parameter_is_an_option():
    class Extended(TSCCClusterer):
        """A TSCCClusterer with one parameter more.

        Parameters
        ----------
        n_clusters : int, default=2
            Number of clusters.
        warmup : int or "auto", default="auto"
            Epochs of warm-up. More text.
        """

        _parameter_constraints = {
            **TSCCClusterer._parameter_constraints,
            "warmup": [
                Interval(Integral, 0, None, closed="left"),
                StrOptions({"auto"}),
            ],
        }

        def __init__(self, n_clusters=2, *, warmup="auto", **params):
            super().__init__(n_clusters, **params)
            self.warmup = warmup

        @classmethod
        def _get_param_names(cls):
            return sorted([*TSCCClusterer._get_param_names(), "warmup"])

    parser = argparse.ArgumentParser()
    names = add_estimator_options(parser, estimator=Extended)
    assert "warmup" in names and "verbose" not in names
    assert parser.parse_args(["--warmup", "3", "--n-clusters", "2"]).warmup == 3
    assert parser.parse_args(["--warmup", "auto", "--n-clusters", "2"]).warmup == "auto"
    text = parser.format_help()
    assert 'Epochs of warm-up (or "auto"; default: auto)' in text


def test_options_from_constraints_and_docstring():
    assert option_type("n", [Interval(Integral, 1, None, closed="left")]) == {
        "type": int
    }
    assert option_type("x", [Interval(Real, 0, 1, closed="both")]) == {"type": float}
    assert option_type("s", [StrOptions({"b", "a"})]) == {
        "type": str,
        "choices": ["a", "b"],
    }
    assert option_type("p", [None, str]) == {"type": str}
    with pytest.raises(TypeError, match="no type for 'f'"):
        option_type("f", [callable])
    sentences = parameter_help(TSCCClusterer)
    assert sentences["n_clusters"] == "Number of clusters"
    assert sentences["lr"] == "AdamW learning rate of pretraining"
    assert set(sentences) == set(TSCCClusterer().get_params())


def test_fit_offers_every_estimator_parameter(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    out = capsys.readouterr().out
    assert EXCLUDED == ("verbose",)  # --quiet
    for name in TSCCClusterer().get_params():
        if name not in EXCLUDED:
            assert "--" + name.replace("_", "-") in out, name
    args = build_parser().parse_args(["fit", "x.npy", "--n-clusters", "2"])
    offered = set(TSCCClusterer().get_params()) - set(EXCLUDED)
    assert set(args.estimator_params) == offered


# ---------------------------------------------------------------------------
# Errors: one line on stderr, exit status 2
# ---------------------------------------------------------------------------


def test_error_unknown_format(work):
    path, _, _ = work
    (path / "notes.txt").write_text("1,2,3")
    result = tscc("fit", "notes.txt", "--n-clusters", 2, cwd=path)
    assert_error(result, "Unknown input format '.txt'", "--window")


def test_error_file_not_found(work, capsys):
    path, _, _ = work
    result = tscc("predict", "--model", "model.tscc", "missing.npy", cwd=path)
    assert_error(result, "No such file: missing.npy")
    missing = str(path / "missing.tscc")
    assert main(["predict", "--model", missing, str(path / "x.npy")]) == 2
    assert "No such model file" in capsys.readouterr().err
    pattern = str(path / "none" / "*.mseed")
    assert main(["fit", pattern, "--window", "1", "--n-clusters", "2"]) == 2
    assert "No file matches" in capsys.readouterr().err


def test_error_input_check_expands_patterns_as_read_windows(tmp_path, capsys):
    root = tmp_path / "d"
    (root / "b" / "c").mkdir(parents=True)
    (root / "b" / "c" / "y.mseed").write_bytes(b"\0" * 16)
    # ** reaches the file two folders down: the check passes, --window is asked for
    assert main(["fit", str(root / "**" / "*.mseed"), "--n-clusters", "2"]) == 2
    assert "needs --window" in capsys.readouterr().err
    # a pattern that matches a folder only names no file to read
    assert main(["fit", str(root / "*"), "--n-clusters", "2"]) == 2
    assert "No file matches" in capsys.readouterr().err


def test_error_obspy_missing(work, tmp_path):
    path, _, _ = work
    shim = tmp_path / "shim" / "obspy"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named obspy')\n")
    (path / "rec.mseed").write_bytes(b"\0" * 16)
    paths = [str(tmp_path / "shim"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    result = tscc(
        "fit", "rec.mseed", "--window", 1, "--n-clusters", 2, cwd=path, env=env
    )
    assert_error(result, "needs ObsPy", 'pip install "tscc[seismic]"')


def test_error_mismatched_shapes(work, capsys):
    path, _, _ = work
    result = tscc("predict", "--model", "model.tscc", "short.npy", cwd=path)
    assert_error(result, "Mismatched shapes", "20 timestamps", "fitted on 32")
    inputs = [str(path / "x.npy"), str(path / "short.npy")]
    assert main(["fit", *inputs, "--n-clusters", "2"]) == 2
    assert "Mismatched shapes" in capsys.readouterr().err


def test_error_not_a_model(work, capsys):
    path, _, _ = work
    (path / "fake.tscc").write_text("this is not a model")
    result = tscc(
        "transform", "--model", "fake.tscc", "x.npy", "--out", "r.npy", cwd=path
    )
    assert_error(result, "fake.tscc is not a", "tscc model file")
    data = str(path / "x.npy")
    assert main(["predict", "--model", data, data]) == 2  # a .npy, not a model
    assert "is not a readable tscc model file" in capsys.readouterr().err


def test_error_seismic_input_without_window(work):
    path, _, _ = work
    (path / "rec.mseed").write_bytes(b"\0" * 16)
    result = tscc("fit", "rec.mseed", "--n-clusters", 2, cwd=path)
    assert_error(result, "needs --window")


def test_error_bad_parameter_and_usage(work, capsys):
    path, _, _ = work
    result = tscc("fit", "x.npy", "--n-clusters", 2, "--m", 1, cwd=path)
    assert_error(result, "'m' parameter")
    with pytest.raises(SystemExit) as exit_info:  # argparse: --n-clusters required
        main(["fit", str(path / "x.npy")])
    assert exit_info.value.code == 2
    assert "--n-clusters" in capsys.readouterr().err
