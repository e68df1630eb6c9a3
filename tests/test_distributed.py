"""Data-parallel training: two gloo processes on 127.0.0.1, tiny models.

Each test starts its own two ranks (``torch.multiprocessing`` with the spawn
method), bounded by a timeout; a rank's result or exception comes back
through a file.
"""

import math
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from datetime import timedelta

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from _shared import TINY_ENCODER as ENCODER
from _shared import tiny_settings, two_shapes

from tscc import TSCCClusterer
from tscc.augmentation import draw_crops
from tscc.clustering import fuzzy_center_step
from tscc.distributed import Ranks, current_ranks
from tscc.encoder import TSEncoder
from tscc.series import TensorSeries
from tscc.training import (
    StepLoss,
    Streams,
    initial_clusters,
    pretrain_encoder,
    train_epoch,
)

CPU = torch.device("cpu")
TINY_FIT = dict(
    n_clusters=2,
    repr_dims=4,
    hidden_dims=4,
    depth=1,
    pretrain_epochs=2,
    finetune_epochs=2,
    center_update_interval=1,
    batch_size=6,
    n_init=2,
    device="cpu",
    random_state=0,
)
KMEANS_SETTINGS = tiny_settings(n_clusters=3, n_init=2, batch_size=4, seed=7)
TIMEOUT = 120  # seconds for a whole two-rank run


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rank_main(rank, world_size, port, out_dir, task, args):
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world_size,
        timeout=timedelta(seconds=60),
    )
    try:
        result = {"value": task(rank, *args)}
    except Exception as exc:  # reported to the test, which decides
        result = {"error": type(exc).__name__, "message": str(exc)}
    finally:
        dist.destroy_process_group()
    torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))


def run_ranks(task, tmp_path, *args, world_size=2):
    """``task(rank, *args)`` on each of ``world_size`` gloo ranks; their results."""
    context = mp.start_processes(
        _rank_main,
        args=(world_size, _free_port(), str(tmp_path), task, args),
        nprocs=world_size,
        join=False,
        start_method="spawn",
    )
    deadline = time.monotonic() + TIMEOUT
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the {world_size} ranks did not finish in {TIMEOUT} s")
    return [
        torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        for rank in range(world_size)
    ]


def values(results):
    for result in results:
        assert "error" not in result, result
    return [result["value"] for result in results]


def series_of(n_series, seed=0, n_timestamps=24):
    X, _ = two_shapes(n_per_class=n_series // 2, n_timestamps=n_timestamps, seed=seed)
    return torch.tensor(X[..., None], dtype=torch.float32)


# ------------------------------------------------------------ in one process


def test_a_single_process_is_rank_0_of_1():
    assert current_ranks() == Ranks(0, 1)
    assert not Ranks().distributed


@pytest.mark.parametrize("n_series", [1, 5, 8, 9])
def test_epoch_shares_cover_the_permutation_in_equal_lengths(n_series):
    order = torch.randperm(n_series, generator=torch.Generator().manual_seed(0))
    shares = [Ranks(rank, 3).epoch_share(order) for rank in range(3)]
    assert {len(share) for share in shares} == {math.ceil(n_series / 3)}
    assert set(torch.cat(shares).tolist()) == set(order.tolist())


def test_batch_size_is_the_batch_of_a_step_over_all_ranks():
    assert [Ranks(0, size).batch_share(64) for size in (1, 2, 4)] == [64, 32, 16]
    assert Ranks(0, 3).batch_share(64) == 22
    assert Ranks(0, 8).batch_share(3) == 1
    assert Ranks(0, 2).batch_note(64) is None
    note = Ranks(0, 3).batch_note(64)
    assert "each takes 22 series a step, 66 in all" in note
    assert "(63 or 66)" in note


@pytest.mark.parametrize("phase", ["pretrain", "finetune"])
@pytest.mark.parametrize("budget", [{"epochs": 3}, {"steps": 7}, {"steps": "auto"}])
def test_ranks_take_the_steps_of_a_single_process(phase, budget):
    from tscc.training import Budget

    settings = tiny_settings(
        batch_size=16,
        **{f"{phase}_epochs": budget.get("epochs")},
        **{f"{phase}_steps": budget.get("steps", "auto")},
    )
    alone = Budget.of_phase(settings, phase, (200, 24), Ranks())
    for size in (2, 4):
        assert Budget.of_phase(settings, phase, (200, 24), Ranks(0, size)) == alone


def test_the_ranks_batches_of_a_step_are_the_batch_of_a_single_process():
    order = torch.randperm(40, generator=torch.Generator().manual_seed(0))
    batch_size, size = 8, 4
    share = Ranks(0, size).batch_share(batch_size)
    shares = [Ranks(rank, size).epoch_share(order) for rank in range(size)]
    for step in range(40 // batch_size):
        together = torch.cat([s[step * share : (step + 1) * share] for s in shares])
        alone = order[step * batch_size : (step + 1) * batch_size]
        assert sorted(together.tolist()) == sorted(alone.tolist())


def test_shards_are_contiguous_and_cover_every_row():
    blocks = [Ranks(rank, 3).shard(10) for rank in range(3)]
    assert [(block.start, block.stop) for block in blocks] == [(0, 3), (3, 6), (6, 10)]


def test_stream_seeds_differ_per_rank_and_keep_a_single_process_seed():
    assert Ranks().stream_seed(5) == 5
    seeds = [Ranks(rank, 2).stream_seed(5) for rank in range(2)]
    assert len(set(seeds)) == 2
    assert seeds == [Ranks(rank, 2).stream_seed(5) for rank in range(2)]


def test_a_process_group_of_one_fits_exactly_like_no_group():
    X, _ = two_shapes(n_per_class=10)
    plain = TSCCClusterer(**TINY_FIT).fit(X)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{_free_port()}",
        rank=0,
        world_size=1,
    )
    try:
        grouped = TSCCClusterer(**TINY_FIT).fit(X)
    finally:
        dist.destroy_process_group()
    np.testing.assert_array_equal(grouped.labels_, plain.labels_)
    np.testing.assert_array_equal(grouped.cluster_centers_, plain.cluster_centers_)
    for name, weight in plain.encoder_.state_dict().items():
        assert torch.equal(grouped.encoder_.state_dict()[name], weight), name


# -------------------------------------------------------------- two ranks


def _parameters(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()


class _ParameterRecorder:
    """A stand-in for TrainingProgress that records the weights after every step."""

    def __init__(self, encoder):
        self.encoder, self.steps = encoder, []

    def step(self, contrastive, cluster=None):
        self.steps.append(_parameters(self.encoder))


def _train_two_epochs(rank):
    ranks = current_ranks()
    torch.manual_seed(rank)  # different initial weights: DDP copies rank 0's
    encoder = TSEncoder(**ENCODER)
    settings = tiny_settings(batch_size=8)  # the global batch: 4 per rank
    model = ranks.wrap(StepLoss(encoder, settings), CPU)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-2)
    recorder = _ParameterRecorder(encoder)
    order_rng = np.random.default_rng(0)
    rng = np.random.default_rng(ranks.stream_seed(0))
    generator = torch.Generator().manual_seed(ranks.stream_seed(1))
    series = series_of(22)
    losses = [
        train_epoch(
            model,
            optimizer,
            TensorSeries(series),
            settings,
            Streams(order_rng, rng, generator),
            progress=recorder,
            ranks=ranks,
        )
        for _ in range(2)
    ]
    return recorder.steps, [(loss["contrastive"], loss["cluster"]) for loss in losses]


def test_parameters_stay_identical_across_ranks_after_every_step(tmp_path):
    (steps0, losses0), (steps1, losses1) = values(
        run_ranks(_train_two_epochs, tmp_path)
    )
    assert len(steps0) == len(steps1) == 2 * 3  # 22 series: 11 per rank, 4 a step
    for step0, step1 in zip(steps0, steps1, strict=True):
        assert torch.equal(step0, step1)
    assert losses0 == losses1  # the epoch's mean over both ranks


def _step_inputs(rank):
    """The batch, crops and mask stream of ``rank``'s step, in any process."""
    batch = series_of(6, seed=10 + rank)
    plan = draw_crops(len(batch), batch.shape[1], 2, np.random.default_rng(rank))
    return batch, plan, torch.Generator().manual_seed(100 + rank)


def _one_step(rank):
    ranks = current_ranks()
    torch.manual_seed(0)
    encoder = TSEncoder(**ENCODER, dropout=0.0)  # dropout draws from global RNG
    model = ranks.wrap(StepLoss(encoder, tiny_settings()), CPU)
    optimizer = torch.optim.SGD(encoder.parameters(), lr=0.1)
    batch, plan, generator = _step_inputs(rank)
    contrastive, _ = model(batch, plan, generator)
    contrastive.backward()
    optimizer.step()
    return _parameters(encoder)


def test_a_distributed_step_is_a_step_on_averaged_gradients(tmp_path):
    after = values(run_ranks(_one_step, tmp_path))
    torch.manual_seed(0)
    encoder = TSEncoder(**ENCODER, dropout=0.0)
    optimizer = torch.optim.SGD(encoder.parameters(), lr=0.1)
    gradients = []
    for rank in range(2):
        encoder.zero_grad()
        batch, plan, generator = _step_inputs(rank)
        contrastive, _ = StepLoss(encoder, tiny_settings())(batch, plan, generator)
        contrastive.backward()
        gradients.append([p.grad.clone() for p in encoder.parameters()])
    for parameter, *grads in zip(encoder.parameters(), *gradients, strict=True):
        parameter.grad = sum(grads) / len(grads)
    optimizer.step()
    expected = _parameters(encoder)
    for rank_parameters in after:
        torch.testing.assert_close(rank_parameters, expected, rtol=0, atol=1e-6)


def _clustered_features(n_series=13):
    # two groups and three centres, two of them equal: after the update they
    # are still equal, the last one nearest to no series, and it is re-seeded
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(n_series, 4, generator=generator)
    features[: n_series // 3] += 5.0
    centers = torch.stack([features[:4].mean(0), *[features[4:].mean(0)] * 2])
    return features, centers


def _center_step(rank):
    ranks = current_ranks()
    features, centers = _clustered_features()
    return fuzzy_center_step(features[ranks.shard(len(features))], centers, 1.5, ranks)


def test_the_distributed_centre_step_is_the_step_over_all_features(tmp_path):
    features, centers = _clustered_features()
    expected, reseeded = fuzzy_center_step(features, centers, 1.5)
    assert reseeded.tolist() == [2]
    for got, got_reseeded in values(run_ranks(_center_step, tmp_path)):
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
        assert got_reseeded.tolist() == [2]


def _kmeans_init(rank):
    torch.manual_seed(0)
    encoder = TSEncoder(**ENCODER).eval()
    return initial_clusters(encoder, series_of(21), KMEANS_SETTINGS)


def test_kmeans_initialisation_is_the_one_on_all_features(tmp_path):
    torch.manual_seed(0)
    encoder = TSEncoder(**ENCODER).eval()
    features, centers = initial_clusters(encoder, series_of(21), KMEANS_SETTINGS)
    for got_features, got_centers in values(run_ranks(_kmeans_init, tmp_path)):
        assert torch.equal(got_features, features)  # same rows, bit for bit
        assert torch.equal(got_centers, centers)


def _nan_on_rank_1(rank):
    real_forward = StepLoss.forward

    def forward(self, *args, **kwargs):
        contrastive, cluster = real_forward(self, *args, **kwargs)
        forward.calls += 1
        if rank == 1 and forward.calls == 3:
            contrastive = contrastive * float("nan")
        return contrastive, cluster

    forward.calls = 0
    StepLoss.forward = forward
    pretrain_encoder(series_of(20), tiny_settings(pretrain_epochs=2, batch_size=4))
    return "finished"


def test_a_nan_on_one_rank_stops_every_rank(tmp_path):
    results = run_ranks(_nan_on_rank_1, tmp_path)
    assert [result.get("error") for result in results] == ["FloatingPointError"] * 2
    assert "another rank (rank 0 of 2)" in results[0]["message"]
    assert "this rank (rank 1 of 2)" in results[1]["message"]


_DISPOSITIONS = {"handled": signal.default_int_handler, "ignored": signal.SIG_IGN}


def _ctrl_c_on_rank_0(rank, disposition):
    # the disposition of the process, whatever pytest's was: a terminal's
    # Python handles SIGINT, a job started in the background ignores it
    before = _DISPOSITIONS[disposition]
    signal.signal(signal.SIGINT, before)
    real_forward = StepLoss.forward

    def forward(self, *args, **kwargs):
        forward.calls += 1
        if rank == 0 and forward.calls == 4:  # epoch 2 of 3 steps each
            os.kill(os.getpid(), signal.SIGINT)
        return real_forward(self, *args, **kwargs)

    forward.calls = 0
    StepLoss.forward = forward
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        weights, history, completed = pretrain_encoder(
            series_of(20), tiny_settings(pretrain_epochs=3, batch_size=8)
        )
    kept = signal.getsignal(signal.SIGINT) is before
    messages = [str(w.message) for w in caught]
    return weights, len(history), completed, kept, messages


def test_ctrl_c_on_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    (w0, n0, done0, kept0, msgs0), (w1, n1, done1, kept1, _) = values(
        run_ranks(_ctrl_c_on_rank_0, tmp_path, "handled")
    )
    assert (n0, n1, done0, done1) == (1, 1, False, False)
    assert kept0 and kept1  # the handler in force before the call is back
    assert any("keeps the weights of epoch 1" in message for message in msgs0)
    assert all(torch.equal(w0[name], w1[name]) for name in w0)


def test_ranks_that_ignore_sigint_keep_ignoring_it(tmp_path):
    (w0, n0, done0, kept0, msgs0), (w1, n1, done1, kept1, _) = values(
        run_ranks(_ctrl_c_on_rank_0, tmp_path, "ignored")
    )
    assert (n0, n1, done0, done1) == (3, 3, True, True)  # the signal changed nothing
    assert kept0 and kept1
    assert not any("interrupted" in message for message in msgs0)
    assert all(torch.equal(w0[name], w1[name]) for name in w0)


@pytest.mark.slow
def test_a_background_pytest_passes_the_ctrl_c_test(tmp_path):
    """The Ctrl-C test run as a background job of a shell, where SIGINT is ignored."""
    command = (
        f"{sys.executable} -m pytest -q -p no:cacheprovider {__file__} "
        "-k 'ctrl_c_on_one_rank or ignore_sigint'"
    )
    done = subprocess.run(
        ["bash", "-c", f"({command}) & wait $!"],
        capture_output=True,
        text=True,
        timeout=2 * TIMEOUT,
        cwd=os.path.dirname(__file__),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def _fit(rank):
    X, _ = two_shapes(n_per_class=15, n_timestamps=24)
    fits = [TSCCClusterer(**TINY_FIT).fit(X) for _ in range(2)]
    return [
        (
            fit.labels_,
            fit.cluster_centers_,
            _parameters(fit.encoder_),
            [(h["contrastive"], h["cluster"]) for h in fit.history_],
        )
        for fit in fits
    ]


def test_a_two_rank_fit_is_the_same_on_every_rank_and_every_run(tmp_path):
    runs0, runs1 = values(run_ranks(_fit, tmp_path))
    reference = runs0[0]
    for labels, centers, parameters, history in [runs0[1], *runs1]:
        np.testing.assert_array_equal(labels, reference[0])
        np.testing.assert_array_equal(centers, reference[1])
        assert torch.equal(parameters, reference[2])
        assert history == reference[3]
    assert len(reference[0]) == 30 and len(reference[3]) == 4


def _fit_with_an_odd_batch(rank):
    X, _ = two_shapes(n_per_class=10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TSCCClusterer(**{**TINY_FIT, "batch_size": 5}).fit(X)
    return [str(w.message) for w in caught]


def test_a_batch_that_does_not_divide_is_rounded_with_one_warning(tmp_path):
    messages0, messages1 = values(run_ranks(_fit_with_an_odd_batch, tmp_path))
    assert sum("batch_size=5 does not divide over 2" in m for m in messages0) == 1
    assert messages1 == []  # rank 0 alone warns


def _fit_with_memory(rank, location):
    X, _ = two_shapes(n_per_class=6)
    TSCCClusterer(**TINY_FIT, memory=location).fit(X)


def test_memory_is_refused_in_a_distributed_fit(tmp_path):
    results = run_ranks(_fit_with_memory, tmp_path, str(tmp_path / "cache"))
    assert [result.get("error") for result in results] == ["ValueError"] * 2
    assert "memory cannot cache" in results[0]["message"]


def _fit_too_few(rank):
    TSCCClusterer(**{**TINY_FIT, "n_clusters": 1}).fit(np.ones((2, 16)))


def test_fewer_series_than_ranks_is_a_clear_error(tmp_path):
    results = run_ranks(_fit_too_few, tmp_path, world_size=3)
    assert [result.get("error") for result in results] == ["ValueError"] * 3
    assert "cannot be shared out over 3 processes" in results[0]["message"]


# ------------------------------------------------------------------ CLI


def test_cli_fit_with_two_processes_writes_one_model(tmp_path):
    X, _ = two_shapes(n_per_class=12)
    np.save(tmp_path / "X.npy", X)
    model, labels = tmp_path / "model.tscc", tmp_path / "labels.csv"
    command = [
        sys.executable, "-m", "tscc", "fit", str(tmp_path / "X.npy"),
        "--n-clusters", "2", "--nproc", "2", "--model", str(model),
        "--labels", str(labels), "--depth", "1", "--hidden-dims", "4",
        "--repr-dims", "4", "--pretrain-epochs", "1", "--finetune-epochs", "1",
        "--batch-size", "6", "--m", "1.5", "--quiet",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Model written") == 1  # rank 0 alone reports
    fitted = TSCCClusterer.load(model)
    written = np.loadtxt(labels, delimiter=",", skiprows=1, usecols=-1)
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)
    np.testing.assert_array_equal(written, fitted.labels_)


def _dispositions():
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    return {name: signal.getsignal(getattr(signal, name)) for name in names}


def test_cli_fit_with_two_processes_leaves_the_signal_handlers_as_they_were(
    tmp_path,
):
    from tscc.cli import main

    X, _ = two_shapes(n_per_class=6)
    np.save(tmp_path / "X.npy", X)
    before = _dispositions()
    status = main(
        ["fit", str(tmp_path / "X.npy"), "--n-clusters", "2", "--nproc", "2",
         "--quiet", "--model", str(tmp_path / "m.tscc"), "--depth", "1",
         "--hidden-dims", "4", "--repr-dims", "4", "--pretrain-epochs", "1",
         "--finetune-epochs", "0"]
    )  # fmt: skip
    assert status == 0
    assert _dispositions() == before  # torchrun's launcher installs its own


@pytest.mark.slow
def test_cli_fit_reports_a_failed_process(tmp_path):
    np.save(tmp_path / "X.npy", np.ones((1, 16)))
    done = subprocess.run(
        [sys.executable, "-m", "tscc", "fit", str(tmp_path / "X.npy"),
         "--n-clusters", "1", "--nproc", "2", "--quiet"],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "training process(es) failed" in done.stderr
    assert "Found array with 1 sample(s)" in done.stderr  # the processes' message


@pytest.mark.slow
def test_cli_ctrl_c_with_two_processes_still_writes_the_model(tmp_path):
    X, _ = two_shapes(n_per_class=150, n_timestamps=64)
    np.save(tmp_path / "X.npy", X)
    model = tmp_path / "model.tscc"
    process = subprocess.Popen(
        [sys.executable, "-m", "tscc", "fit", str(tmp_path / "X.npy"),
         "--n-clusters", "2", "--nproc", "2", "--model", str(model), "--depth", "3",
         "--pretrain-epochs", "200", "--finetune-epochs", "0", "--batch-size", "16"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, cwd=tmp_path,
    )  # fmt: skip
    time.sleep(15)  # well into pretraining
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 130, err
    assert "the model keeps the weights of epoch" in err
    assert out.count("Model written") == 1
    assert len(TSCCClusterer.load(model).labels_) == 300
