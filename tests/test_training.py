"""The training module on its own: loops, epochs, encoding, seeding, helpers."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from _shared import TINY_ENCODER as ENCODER
from _shared import tiny_settings, two_shapes

import tscc.training
from tscc._seeding import seed_sequence, seeded_torch
from tscc.clustering import squared_distances
from tscc.encoder import TSEncoder, max_pool_observed, rebuild_encoder, receptive_depth
from tscc.encoding import encode_features
from tscc.losses import CLUSTER_LOSSES
from tscc.progress import TrainingProgress
from tscc.series import TensorSeries
from tscc.training import (
    ClusterState,
    StepLoss,
    Streams,
    finetune_encoder,
    pad_to_length,
    pretrain_encoder,
    run_epochs,
    train_epoch,
)

CPU = torch.device("cpu")


def training_series(n_per_class=6, n_timestamps=16):
    """Float32 series of shape (n, T, 1): sines and square waves."""
    X, _ = two_shapes(n_per_class=n_per_class, n_timestamps=n_timestamps)
    return torch.tensor(X[:, :, None], dtype=torch.float32)


def pretrain(X=None, **overrides):
    X = training_series().numpy() if X is None else X
    return pretrain_encoder(X, tiny_settings(**overrides))


def finetune_settings(**overrides):
    return tiny_settings(seed=1, **overrides)


def new_streams(seed=0):
    rng = np.random.default_rng(seed)
    return Streams(rng, rng, torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def pretrained():
    weights, _, _ = pretrain()
    return weights


def fresh_encoder(weights):
    """The pretrained encoder, or a new one seeded with 0 for ``None``."""
    if weights is None:
        torch.manual_seed(0)
        return TSEncoder(**ENCODER)
    return rebuild_encoder(ENCODER, weights, CPU).train()


def finetune(weights, series, settings):
    """Fine-tune a copy of the pretrained encoder from two initial centres."""
    encoder = fresh_encoder(weights)
    features = encode_features(encoder, series, settings.batch_size, CPU)
    centers = features[[0, -1]].clone()  # one sine, one square wave
    clusters, history, completed = finetune_encoder(
        encoder, series, features, centers, settings
    )
    return encoder, centers, clusters, history, completed


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def run_train_epochs(n_epochs, batch_size, centers=None, **overrides):
    """Train a new encoder on 24 series for ``n_epochs`` :func:`train_epoch` calls."""
    series = TensorSeries(training_series(n_per_class=12))
    encoder = fresh_encoder(None)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-3)
    settings = tiny_settings(batch_size=batch_size, **overrides)
    streams = new_streams()
    return [
        train_epoch(
            StepLoss(encoder, settings), optimizer, series, settings, streams, centers
        )
        for _ in range(n_epochs)
    ]


# ------------------------------------------------------------- pretraining


def test_pretrain_encoder_is_deterministic_and_returns_cpu_weights():
    weights, history, completed = pretrain(pretrain_epochs=3)
    again, history_again, _ = pretrain(pretrain_epochs=3)
    assert completed
    assert states_equal(weights, again)
    assert weights.keys() == TSEncoder(**ENCODER).state_dict().keys()
    assert all(t.device.type == "cpu" and not t.requires_grad for t in weights.values())
    assert [(h["phase"], h["epoch"]) for h in history] == [
        ("pretrain", e) for e in (1, 2, 3)
    ]
    assert all(h["cluster"] == 0.0 and np.isfinite(h["contrastive"]) for h in history)
    assert [h["contrastive"] for h in history] == [
        h["contrastive"] for h in history_again
    ]


def test_pretrain_encoder_depends_on_the_seed():
    weights, _, _ = pretrain()
    other, _, _ = pretrain(seed=1)
    assert not states_equal(weights, other)


def test_every_phase_has_streams_of_its_own():
    seeds = tiny_settings().seeds
    assert len(set(vars(seeds).values())) == len(vars(seeds))


def test_pretrain_encoder_leaves_the_global_rng_alone():
    torch.manual_seed(7)
    before = torch.random.get_rng_state()
    pretrain(pretrain_epochs=1)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_pretrain_encoder_pads_series_shorter_than_the_crop_overlap():
    X = training_series(n_timestamps=3).numpy()
    weights, history, completed = pretrain(X, pretrain_epochs=1, temporal_unit=2)
    assert completed and np.isfinite(history[0]["contrastive"])


# ------------------------------------------------------------------ epochs


def contrastive_batches(monkeypatch):
    """Record the shape and contrastive loss of every training batch."""
    seen = []
    original = StepLoss.forward

    def spy(self, batch, *args, **kwargs):
        contrastive, cluster = original(self, batch, *args, **kwargs)
        seen.append((tuple(batch.shape), contrastive.item()))
        return contrastive, cluster

    monkeypatch.setattr(StepLoss, "forward", spy)
    return seen


def test_one_optimizer_step_per_batch_including_partial_batch(monkeypatch):
    batches = contrastive_batches(monkeypatch)
    steps = []
    original_step = torch.optim.AdamW.step

    def counting_step(self, *args, **kwargs):
        steps.append(1)
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", counting_step)
    run_train_epochs(3, batch_size=10)  # 24 series
    assert [shape[0] for shape, _ in batches] == [10, 10, 4] * 3
    assert len(steps) == 9 == 3 * 3  # three epochs of ceil(24 / 10) steps


def test_epoch_loss_is_the_mean_per_series_over_unequal_batches(monkeypatch):
    batches = contrastive_batches(monkeypatch)
    (result,) = run_train_epochs(1, batch_size=10)
    expected = sum(loss * shape[0] for shape, loss in batches) / 24
    assert result["contrastive"] == pytest.approx(expected, rel=1e-6)
    assert result["cluster"] == 0.0 and result["seconds"] >= 0


def test_batch_size_larger_than_data_is_one_step(monkeypatch):
    batches = contrastive_batches(monkeypatch)
    (losses,) = run_train_epochs(1, batch_size=1000)
    assert [shape[0] for shape, _ in batches] == [24]
    assert np.isfinite(losses["contrastive"])


def test_max_train_length_cuts_each_batch_to_a_window(monkeypatch):
    batches = contrastive_batches(monkeypatch)
    run_train_epochs(1, batch_size=10, max_train_length=8)
    assert [shape[:2] for shape, _ in batches] == [(10, 8), (10, 8), (4, 8)]


@pytest.mark.parametrize(
    ("cluster_loss", "batch_size", "fraction", "expected"),
    [
        ("fcm", 10, 0.5, [5, 5, 2]),  # 24 series: batches of 10, 10, 4
        ("fcm", 10, 1.0, [10, 10, 4]),
        ("fcm", 10, 0.01, [1, 1, 1]),
        ("fcm_ratio", 10, 0.5, [5, 5, 2]),
        ("fcm_ratio", 10, 0.01, [2, 2, 2]),  # a ratio needs two series
        ("fcm_ratio", 23, 0.5, [12]),  # a last batch of one series: no term
    ],
)
def test_cluster_fraction_sets_the_clustering_batch(
    monkeypatch, cluster_loss, batch_size, fraction, expected
):
    sizes = []
    term = CLUSTER_LOSSES[cluster_loss]

    def spy(features, *args):
        sizes.append(features.shape[0])
        return term.function(features, *args)

    monkeypatch.setitem(CLUSTER_LOSSES, cluster_loss, replace(term, function=spy))
    generator = torch.Generator().manual_seed(0)
    (losses,) = run_train_epochs(
        1,
        batch_size=batch_size,
        centers=torch.randn(2, ENCODER["repr_dims"], generator=generator),
        cluster_fraction=fraction,
        cluster_loss=cluster_loss,
    )
    assert sizes == expected
    assert losses["cluster"] > 0


# ---------------------------------------------------------------- run_epochs


def linear_epochs(interrupt_at=None, nan_at=None, key="contrastive"):
    """A module and a ``run_epoch`` that steps it, interrupting or failing."""
    module = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    after_epoch = {}

    def run_epoch(epoch):
        module(torch.ones(1, 2)).sum().backward()
        optimizer.step()  # the weights change mid-epoch, then ...
        if epoch == interrupt_at:
            raise KeyboardInterrupt
        after_epoch[epoch] = {k: v.clone() for k, v in module.state_dict().items()}
        losses = {"contrastive": 1.0 / epoch, "cluster": 0.0, "seconds": 0.0}
        if epoch == nan_at:
            losses[key] = float("nan")
        return losses

    return module, run_epoch, after_epoch


def test_run_epochs_records_every_epoch():
    module, run_epoch, _ = linear_epochs()
    history, completed = run_epochs(
        "finetune", 3, run_epoch, module, TrainingProgress(0)
    )
    assert completed
    assert [(h["phase"], h["epoch"], h["contrastive"]) for h in history] == [
        ("finetune", 1, 1.0),
        ("finetune", 2, 0.5),
        ("finetune", 3, 1 / 3),
    ]


def test_run_epochs_stops_when_told():
    module, run_epoch, _ = linear_epochs()
    history, completed = run_epochs(
        "finetune", 5, run_epoch, module, TrainingProgress(0), should_stop=lambda: True
    )
    assert completed and [h["epoch"] for h in history] == [1]


def test_ctrl_c_rolls_back_to_the_last_completed_epoch():
    module, run_epoch, after_epoch = linear_epochs(interrupt_at=3)
    with pytest.warns(UserWarning, match="fine-tuning epoch 3/4.*weights of epoch 2"):
        history, completed = run_epochs(
            "finetune", 4, run_epoch, module, TrainingProgress(0)
        )
    assert not completed
    assert [h["epoch"] for h in history] == [1, 2]
    assert states_equal(module.state_dict(), after_epoch[2])


def test_ctrl_c_in_the_first_epoch_restores_the_initial_weights():
    module, run_epoch, _ = linear_epochs(interrupt_at=1)
    initial = {k: v.clone() for k, v in module.state_dict().items()}
    with pytest.warns(UserWarning, match="weights of epoch 0"):
        history, completed = run_epochs(
            "pretrain", 2, run_epoch, module, TrainingProgress(0)
        )
    assert (history, completed) == ([], False)
    assert states_equal(module.state_dict(), initial)


def test_ctrl_c_restores_weights_of_last_epoch(monkeypatch):
    """Interrupting epoch 2 gives the weights a 1-epoch pretraining has."""
    one_epoch, _, _ = pretrain(pretrain_epochs=1)
    real_epoch = tscc.training.train_epoch

    def fail_after_a_step(encoder, optimizer, *args, **kwargs):
        if fail_after_a_step.calls == 1:
            # change the weights mid-epoch, then interrupt
            real_epoch(encoder, optimizer, *args, **kwargs)
            raise KeyboardInterrupt
        fail_after_a_step.calls += 1
        return real_epoch(encoder, optimizer, *args, **kwargs)

    fail_after_a_step.calls = 0
    monkeypatch.setattr(tscc.training, "train_epoch", fail_after_a_step)
    with pytest.warns(UserWarning, match="keeps the weights of epoch 1"):
        interrupted, history, completed = pretrain(pretrain_epochs=3)
    assert not completed and len(history) == 1
    assert states_equal(interrupted, one_epoch)


@pytest.mark.parametrize(
    ("phase", "name", "key"),
    [
        ("pretrain", "pretraining", "contrastive"),
        ("finetune", "fine-tuning", "cluster"),
    ],
)
def test_run_epochs_raises_on_a_non_finite_loss(phase, name, key):
    module, run_epoch, _ = linear_epochs(nan_at=2, key=key)
    with pytest.raises(FloatingPointError, match=f"{name} loss .* epoch 2.*Scale"):
        run_epochs(phase, 3, run_epoch, module, TrainingProgress(0))


def test_non_finite_loss_names_phase_and_epoch(monkeypatch):
    real_epoch = tscc.training.train_epoch
    calls = []

    def nan_in_second_epoch(*args, **kwargs):
        losses = real_epoch(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            losses = {**losses, "contrastive": float("nan")}
        return losses

    monkeypatch.setattr(tscc.training, "train_epoch", nan_in_second_epoch)
    with pytest.raises(FloatingPointError, match="pretraining loss .* epoch 2.*Scale"):
        pretrain(pretrain_epochs=3)


# -------------------------------------------------------------- fine-tuning


def count_updates(monkeypatch):
    """Epochs trained before each call of update_clusters."""
    epochs, updates = [], []
    real_epoch, real_update = tscc.training.train_epoch, tscc.training.update_clusters

    def epoch_spy(*args, **kwargs):
        epochs.append(1)
        return real_epoch(*args, **kwargs)

    def update_spy(*args, **kwargs):
        updates.append(len(epochs))
        return real_update(*args, **kwargs)

    monkeypatch.setattr(tscc.training, "train_epoch", epoch_spy)
    monkeypatch.setattr(tscc.training, "update_clusters", update_spy)
    return updates


@pytest.mark.parametrize(
    ("epochs", "interval", "expected"),
    [
        (5, 2, [2, 4, 5]),
        (4, 2, [2, 4]),  # no update after the last epoch but the final one
        (3, 1, [1, 2, 3]),
        (2, 5, [2]),
    ],
)
def test_centres_are_updated_every_interval_and_once_at_the_end(
    pretrained, monkeypatch, epochs, interval, expected
):
    updates = count_updates(monkeypatch)
    settings = finetune_settings(
        finetune_epochs=epochs, center_update_interval=interval
    )
    _, _, _, history, completed = finetune(pretrained, training_series(), settings)
    assert updates == expected
    assert completed and len(history) == epochs


def test_tol_stops_finetuning_early(pretrained, monkeypatch):
    series = training_series()
    settings = finetune_settings(finetune_epochs=6, center_update_interval=2)
    _, _, clusters, history, completed = finetune(pretrained, series, settings)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5, 6]
    assert not clusters.converged
    # tol=1: "fewer than 100% of the labels changed" holds at the first update
    updates = count_updates(monkeypatch)
    early = finetune(pretrained, series, finetune_settings(finetune_epochs=6, tol=1.0))
    _, _, clusters, history, completed = early
    assert [(h["phase"], h["epoch"]) for h in history] == [
        ("finetune", 1),
        ("finetune", 2),
    ]
    assert completed and clusters.converged
    assert updates == [2, 2]  # the stopping update, then the final one


def test_finetune_returns_the_clustering_of_the_finetuned_encoder(pretrained):
    series = training_series()
    settings = finetune_settings(finetune_epochs=3)
    encoder, initial, clusters, history, _ = finetune(pretrained, series, settings)
    assert isinstance(clusters, ClusterState)
    assert torch.equal(clusters.features, encode_features(encoder, series, 8, CPU))
    nearest = squared_distances(clusters.features, clusters.centers).argmin(dim=1)
    assert torch.equal(clusters.labels, nearest)
    assert clusters.centers.shape == initial.shape
    assert not torch.equal(clusters.centers, initial)
    assert not clusters.centers.requires_grad and not clusters.centers.is_inference()
    assert all(h["cluster"] > 0 for h in history)


def test_finetune_is_deterministic_and_trains_the_encoder(pretrained):
    series = training_series()
    settings = finetune_settings(finetune_epochs=2)
    first = finetune(pretrained, series, settings)
    second = finetune(pretrained, series, settings)
    assert states_equal(first[0].state_dict(), second[0].state_dict())
    assert torch.equal(first[2].centers, second[2].centers)
    assert not states_equal(first[0].state_dict(), pretrained)


def test_interrupted_finetuning_keeps_the_last_epoch_and_updates_once(
    pretrained, monkeypatch
):
    updates = count_updates(monkeypatch)
    counted_epoch = tscc.training.train_epoch

    def interrupt_third(*args, **kwargs):
        interrupt_third.calls += 1
        if interrupt_third.calls == 3:
            raise KeyboardInterrupt
        return counted_epoch(*args, **kwargs)

    interrupt_third.calls = 0
    monkeypatch.setattr(tscc.training, "train_epoch", interrupt_third)
    with pytest.warns(UserWarning, match="interrupted during fine-tuning epoch 3"):
        result = finetune(
            pretrained, training_series(), finetune_settings(finetune_epochs=4)
        )
    _, _, clusters, history, completed = result
    assert not completed and [h["epoch"] for h in history] == [1, 2]
    assert updates == [2, 2]  # epoch 2's update and the final one


# ----------------------------------------------------------------- encoding


def _series_with_gaps(n_series=21, n_timestamps=24, seed=0):
    gen = torch.Generator().manual_seed(seed)
    series = torch.randn(n_series, n_timestamps, 2, generator=gen)
    series[2, 18:] = float("nan")  # variable length: NaN-padded at the end
    series[-1, 5:] = float("nan")
    return series


def _encoder(depth=2, input_dims=2, seed=0, **kwargs):
    torch.manual_seed(seed)
    kwargs.setdefault("hidden_dims", 8)
    kwargs.setdefault("repr_dims", 5)
    return TSEncoder(input_dims, depth=depth, **kwargs)


def test_encode_features_independent_of_batch_composition():
    encoder = _encoder(depth=3, hidden_dims=32, repr_dims=16).train()
    series = _series_with_gaps()
    full = encode_features(encoder, series, batch_size=8, device="cpu")
    assert full.shape == (21, 16)
    assert torch.isfinite(full).all()
    assert encoder.training  # mode restored

    subset = torch.tensor([20, 3, 11, 2, 7])
    part = encode_features(encoder, series[subset], batch_size=8, device="cpu")
    assert torch.equal(part, full[subset])

    perm = torch.randperm(21, generator=torch.Generator().manual_seed(1))
    permuted = encode_features(encoder, series[perm], batch_size=8, device="cpu")
    assert torch.equal(permuted, full[perm])


def test_encode_features_is_max_pool_of_observed_timestamps():
    encoder = _encoder(depth=2).eval()
    series = _series_with_gaps(n_series=4, n_timestamps=20)
    features = encode_features(encoder, series, batch_size=4, device="cpu")
    with torch.no_grad():
        z = encoder(series)
    expected = z.amax(dim=1)
    expected[2] = z[2, :18].amax(dim=0)
    expected[3] = z[3, :5].amax(dim=0)
    torch.testing.assert_close(features, expected)


def test_encode_features_with_batch_size_larger_than_data():
    encoder = _encoder(depth=1).eval()
    series = _series_with_gaps(n_series=3, n_timestamps=10)
    features = encode_features(encoder, series, batch_size=1000, device="cpu")
    assert features.shape == (3, 5)
    assert torch.equal(features, encode_features(encoder, series, 1000, "cpu"))


def test_max_pool_observed_falls_back_to_all_timestamps():
    z = torch.tensor([[[1.0], [5.0], [2.0]], [[3.0], [-1.0], [4.0]]])
    observed = torch.tensor([[True, False, True], [False, False, False]])
    assert max_pool_observed(z, observed).tolist() == [[2.0], [4.0]]


def test_pad_to_length_pads_with_nan_at_the_end():
    series = torch.ones(2, 3, 1)
    padded = pad_to_length(series, 5)
    assert padded.shape == (2, 5, 1)
    assert torch.equal(padded[:, :3], series) and torch.isnan(padded[:, 3:]).all()
    assert pad_to_length(series, 3) is series
    assert pad_to_length(series, 2) is series


# ------------------------------------------------------------------ seeding


def test_seeded_torch_seeds_and_restores_the_global_rng():
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    with torch.no_grad():
        with seeded_torch(11, CPU) as generator:
            assert torch.is_grad_enabled()
            inside = torch.rand(3)
            masks = torch.rand(3, generator=generator)
        assert not torch.is_grad_enabled()
    assert torch.equal(torch.random.get_rng_state(), before)
    with seeded_torch(11, CPU) as generator:
        assert torch.equal(torch.rand(3), inside)
        assert torch.equal(torch.rand(3, generator=generator), masks)
    torch.manual_seed(11)
    assert torch.equal(torch.rand(3), inside)  # the global generator, seeded


def test_seeded_torch_restores_the_rng_when_training_fails():
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    with pytest.raises(KeyboardInterrupt), seeded_torch(3, CPU):
        torch.rand(10)
        raise KeyboardInterrupt
    assert torch.equal(torch.random.get_rng_state(), before)


def test_seed_sequence_is_deterministic_and_gives_distinct_seeds():
    seeds = seed_sequence(0, 5)
    assert seeds == seed_sequence(0, 5)
    assert len(set(seeds)) == 5 and all(isinstance(s, int) for s in seeds)
    assert seed_sequence(1, 5) != seeds
    assert seed_sequence(0, 3) == seeds[:3]


# --------------------------------------------------------------- receptive field


def receptive_width(depth):
    """Timestamps seen by an encoder of ``depth`` hidden blocks, per the docstring."""
    return 1 + 4 * (2 ** (depth + 1) - 1)


@pytest.mark.parametrize("depth", range(7))
def test_receptive_depth_at_the_edges(depth):
    width = receptive_width(depth)
    assert receptive_depth(width) == depth
    assert receptive_depth(width + 1) == depth + 1
    if depth > 0:
        assert receptive_depth(receptive_width(depth - 1) + 1) == depth


def test_receptive_depth_of_short_series_is_the_output_block_alone():
    assert [receptive_depth(n) for n in (0, 1, 2)] == [0, 0, 0]


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_receptive_width_is_what_the_encoder_sees(depth):
    width = receptive_width(depth)
    torch.manual_seed(0)
    encoder = TSEncoder(1, repr_dims=3, hidden_dims=4, depth=depth).eval()
    x = torch.randn(1, 2 * width, 1, requires_grad=True)
    centre = width
    encoder(x)[0, centre].sum().backward()
    seen = torch.nonzero(x.grad[0, :, 0]).flatten()
    half = (width - 1) // 2
    assert (seen.min().item(), seen.max().item()) == (centre - half, centre + half)


# ------------------------------------------------------- block recomputation


def test_recomputed_blocks_give_the_same_gradients_bit_for_bit():
    torch.manual_seed(0)
    encoder = TSEncoder(**ENCODER, dropout=0.0)
    x = torch.randn(5, 16, 1)
    gradients = []
    for recompute in (False, True):
        encoder.zero_grad()
        encoder.recompute_blocks = recompute
        encoder(
            x, mask="random", generator=torch.Generator().manual_seed(1)
        ).sum().backward()
        gradients.append([p.grad.clone() for p in encoder.parameters()])
    for plain, recomputed in zip(*gradients, strict=True):
        assert torch.equal(plain, recomputed)


def test_large_steps_recompute_their_blocks(monkeypatch):
    encoder = TSEncoder(**ENCODER)
    assert not tscc.training.recompute_blocks(encoder, [(64, 500, 1)] * 2)
    assert not encoder.recompute_blocks
    # the default architecture: never at the paper's size, always on ACSF1's
    default = TSEncoder(1)
    assert not tscc.training.recompute_blocks(default, [(64, 500, 1)] * 2)
    assert tscc.training.recompute_blocks(default, [(64, 1460, 1)] * 2)
    monkeypatch.setattr(tscc.training, "_ACTIVATION_BUDGET", 1000)
    assert tscc.training.recompute_blocks(encoder, [(64, 500, 1)] * 2)
    assert encoder.recompute_blocks


def test_a_fit_that_recomputes_its_blocks_is_the_same_fit(monkeypatch):
    from _shared import TINY

    from tscc import TSCCClusterer

    X, _ = two_shapes()
    plain = TSCCClusterer(**TINY).fit(X)
    monkeypatch.setattr(tscc.training, "_ACTIVATION_BUDGET", 0)
    recomputed = TSCCClusterer(**TINY).fit(X)
    assert recomputed.encoder_.recompute_blocks
    np.testing.assert_array_equal(plain.transform(X), recomputed.transform(X))
    assert [h["contrastive"] for h in plain.history_] == [
        h["contrastive"] for h in recomputed.history_
    ]
