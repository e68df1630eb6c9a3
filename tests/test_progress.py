"""What a fit shows while it runs, by verbose level."""

import numpy as np
import pytest
from _shared import TINY, two_shapes

import tscc.progress
from tscc import TSCCClusterer
from tscc.progress import JobProgress, TrainingProgress


@pytest.fixture
def X():
    return two_shapes()[0]  # 24 series: 3 steps per epoch at batch_size=8


def fit(X, verbose, **params):
    return TSCCClusterer(
        **{**TINY, "pretrain_epochs": 2, "finetune_epochs": 2, **params},
        verbose=verbose,
    ).fit(X)


def test_verbose_0_says_nothing(X, capsys):
    fit(X, 0)
    assert capsys.readouterr() == ("", "")


def test_verbose_2_prints_each_epoch_and_the_clustering_steps(X, capsys):
    est = fit(X, 2, center_update_interval=1)
    out = capsys.readouterr().out
    for line in ("pretrain epoch 1/2", "pretrain epoch 2/2", "finetune epoch 2/2"):
        assert f"[TSCC] {line}: contrastive=" in out
    assert "cluster=" in out
    assert "K-means initialisation of 2 centres" in out
    assert "centre update:" in out
    assert len(est.history_) == 4


def test_verbose_1_shows_a_bar_per_phase(X, capsys):
    pytest.importorskip("tqdm")
    est = fit(X, 1)
    captured = capsys.readouterr()
    assert "epoch 1/2" not in captured.out  # the bars replace the epoch lines
    for phase in ("pretraining", "fine-tuning"):
        assert f"{phase}: 100%" in captured.err
    assert "6/6" in captured.err  # 2 epochs x 3 steps
    assert "contrastive=" in captured.err and "cluster=" in captured.err
    assert [h["epoch"] for h in est.history_] == [1, 2, 1, 2]


def test_verbose_1_without_tqdm_prints_epoch_lines(X, capsys, monkeypatch):
    monkeypatch.setattr(tscc.progress, "_tqdm", lambda: None)
    fit(X, 1)
    captured = capsys.readouterr()
    assert "[TSCC] pretrain epoch 2/2" in captured.out
    assert captured.err == ""


def test_messages_go_above_an_open_bar(capsys):
    pytest.importorskip("tqdm")
    progress = TrainingProgress(1)
    with progress.phase("finetune", n_steps=2):
        progress.message("centre update: 5.0% of the labels changed")
    err = capsys.readouterr()
    assert "[TSCC] centre update: 5.0% of the labels changed" in err.out + err.err


def test_a_phase_of_no_epochs_opens_no_bar(capsys):
    pytest.importorskip("tqdm")
    progress = TrainingProgress(1)
    with progress.phase("finetune", n_steps=0):
        progress.step(np.float32(1.0))
    assert capsys.readouterr() == ("", "")


def test_job_progress_without_tqdm_prints_a_line_per_5_percent(capsys, monkeypatch):
    monkeypatch.setattr(tscc.progress, "_tqdm", lambda: None)
    with JobProgress(40, desc="windows", unit="group") as bar:
        for done in range(1, 41):
            bar.update(windows=10 * done)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 20
    assert lines[0] == "[tscc] 2/40 groups, 20 windows"
    assert lines[-1] == "[tscc] 40/40 groups, 400 windows"


def test_job_progress_shows_a_bar(capsys):
    pytest.importorskip("tqdm")
    with JobProgress(3, desc="windows", unit="group", initial=1) as bar:
        bar.update(windows=5)
        bar.update(1, windows=9)
    err = capsys.readouterr().err
    assert "windows: 100%" in err and "3/3" in err and "windows=9" in err


@pytest.mark.parametrize("settings", [{"enabled": False}, {"initial": 4}])
def test_job_progress_silent_when_disabled_or_complete(settings, capsys):
    with JobProgress(4, desc="windows", unit="group", **settings) as bar:
        bar.update()
    assert capsys.readouterr() == ("", "")
    assert bar.done == settings.get("initial", 0) + 1
