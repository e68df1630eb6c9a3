"""Training budgets counted in optimizer steps, with epochs as the alternative."""

import numpy as np
import pytest
import torch
from _shared import TINY, two_shapes

import tscc.training
from tscc import TSCCClusterer
from tscc.distributed import Ranks
from tscc.training import Budget

STEPS = {**TINY, "pretrain_epochs": None, "finetune_epochs": None}


def count_steps(monkeypatch):
    """Count optimizer steps per phase (pretraining steps come first)."""
    steps = []
    original = torch.optim.AdamW.step

    def counting(self, *args, **kwargs):
        steps.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", counting)
    return steps


def phase_steps(estimator, phase):
    return [h["steps"] for h in estimator.history_ if h["phase"] == phase]


@pytest.mark.parametrize("n_per_class", [6, 20])
def test_a_step_budget_does_not_grow_with_the_data(monkeypatch, n_per_class):
    X, _ = two_shapes(n_per_class=n_per_class)
    steps = count_steps(monkeypatch)
    params = {**STEPS, "pretrain_steps": 5, "finetune_steps": 3, "lr": 1e-3}
    est = TSCCClusterer(**params, finetune_lr=1e-4).fit(X)
    assert steps == [1e-3] * 5 + [1e-4] * 3
    assert sum(phase_steps(est, "pretrain")) == 5
    assert sum(phase_steps(est, "finetune")) == 3


def test_the_last_epoch_of_a_budget_stops_where_the_budget_ends():
    X, _ = two_shapes(n_per_class=10)  # 20 series, batches of 8: 3 steps an epoch
    est = TSCCClusterer(**{**STEPS, "pretrain_steps": 7, "finetune_steps": 4}).fit(X)
    assert phase_steps(est, "pretrain") == [3, 3, 1]
    assert phase_steps(est, "finetune") == [3, 1]
    assert [h["epoch"] for h in est.history_] == [1, 2, 3, 1, 2]
    assert est.n_iter_ == 2
    assert all(np.isfinite(h["contrastive"]) for h in est.history_)


def test_epochs_when_set_take_the_place_of_steps():
    X, _ = two_shapes(n_per_class=10)
    params = {**TINY, "pretrain_steps": 1000, "finetune_steps": 1000}
    est = TSCCClusterer(**{**params, "pretrain_epochs": 2, "finetune_epochs": 1})
    est.fit(X)
    assert phase_steps(est, "pretrain") == [3, 3]
    assert phase_steps(est, "finetune") == [3]


def test_a_whole_number_of_epochs_in_steps_is_the_epoch_fit():
    X, _ = two_shapes(n_per_class=10)  # 3 steps an epoch
    by_epochs = TSCCClusterer(**{**TINY, "pretrain_epochs": 2, "finetune_epochs": 1})
    by_steps = TSCCClusterer(**{**STEPS, "pretrain_steps": 6, "finetune_steps": 3})
    np.testing.assert_array_equal(by_epochs.fit(X).labels_, by_steps.fit(X).labels_)
    assert by_epochs.history_ == [
        {**h, "seconds": e["seconds"]}
        for h, e in zip(by_steps.history_, by_epochs.history_, strict=True)
    ]
    np.testing.assert_array_equal(by_epochs.transform(X), by_steps.transform(X))


def test_zero_finetuning_steps_is_pretraining_and_kmeans():
    X, _ = two_shapes()
    est = TSCCClusterer(**{**STEPS, "pretrain_steps": 2, "finetune_steps": 0}).fit(X)
    assert est.n_iter_ == 0 and phase_steps(est, "finetune") == []


def test_the_finetuning_budget_does_not_key_the_pretraining_cache(tmp_path):
    X, _ = two_shapes()
    params = {**STEPS, "pretrain_steps": 2, "memory": str(tmp_path)}
    first = TSCCClusterer(**params, finetune_steps=1).fit(X)
    second = TSCCClusterer(**params, finetune_steps=2).fit(X)
    assert first.history_[0]["seconds"] == second.history_[0]["seconds"]  # cached
    third = TSCCClusterer(**{**params, "pretrain_steps": 3}, finetune_steps=1).fit(X)
    assert sum(phase_steps(third, "pretrain")) == 3


def test_auto_steps_key_the_pretraining_cache_by_the_steps_they_take(
    tmp_path, monkeypatch
):
    # a cache written under another version's "auto" rule must not be reused
    X, _ = two_shapes(n_per_class=10)  # 3 steps an epoch: 75 steps at "auto"
    params = {**STEPS, "pretrain_steps": "auto", "finetune_steps": 0}
    params["memory"] = str(tmp_path)
    first = TSCCClusterer(**params).fit(X)
    steps_of_20 = 20 * 8 * X.shape[1]  # 20 steps of 8 series
    monkeypatch.setitem(tscc.training.AUTO_STEP_VALUES, "pretrain", steps_of_20)
    second = TSCCClusterer(**params).fit(X)
    assert sum(phase_steps(first, "pretrain")) == 75
    assert sum(phase_steps(second, "pretrain")) == 20
    # the same explicit number of steps finds the entry "auto" wrote
    explicit = TSCCClusterer(**{**params, "pretrain_steps": 20}).fit(X)
    assert explicit.history_[0]["seconds"] == second.history_[0]["seconds"]


@pytest.mark.parametrize(
    ("n_steps", "per_epoch", "expected"),
    [(0, 4, []), (4, 4, [None]), (9, 4, [None, None, 1]), (3, 10, [3])],
)
def test_budget_counts_out_steps_in_epochs(n_steps, per_epoch, expected):
    budget = Budget(n_steps, per_epoch)
    assert budget.n_epochs == len(expected)
    assert [budget.steps_in(epoch) for epoch in range(1, budget.n_epochs + 1)] == (
        expected
    )


def test_a_budget_takes_the_same_steps_on_any_number_of_ranks():
    from _shared import tiny_settings

    # batch_size is the global batch: 2 ranks take 2 series each a step
    settings = tiny_settings(pretrain_epochs=3, batch_size=4)
    shape = (22, 10, 1)
    assert Budget.of_phase(settings, "pretrain", shape, Ranks()) == Budget(18, 6)
    assert Budget.of_phase(settings, "pretrain", shape, Ranks(0, 2)) == Budget(18, 6)
    settings = tiny_settings(pretrain_epochs=None, pretrain_steps=5, batch_size=4)
    assert Budget.of_phase(settings, "pretrain", shape, Ranks(1, 2)) == Budget(5, 6)


@pytest.mark.parametrize(
    ("shape", "batch_size", "max_train_length", "expected"),
    [
        # the benchmark's real sets: the paper's 25 epochs in both phases
        ((462, 400), 64, 3000, (200, 200)),  # PhaseNet: 8 steps an epoch
        ((1096, 24), 64, 3000, (450, 450)),  # ItalyPowerDemand: 18 steps
        ((200, 150), 64, 3000, (100, 100)),  # GunPoint
        ((211, 251), 64, 3000, (100, 100)),  # ArrowHead
        ((56, 286), 64, 3000, (25, 25)),  # Coffee
        ((4928, 500), 64, 3000, (400, 160)),  # the paper's size: capped
        ((100_000, 500), 64, 3000, (400, 160)),  # an archive: the same cost
        ((4928, 500), 32, 3000, (800, 320)),  # half the series a step, twice the steps
        ((4928, 5000), 64, 1000, (200, 80)),  # crops cut to max_train_length
    ],
)
def test_auto_steps_are_the_papers_epochs_up_to_a_bounded_cost(
    shape, batch_size, max_train_length, expected
):
    from _shared import tiny_settings

    settings = tiny_settings(
        pretrain_epochs=None,
        pretrain_steps="auto",
        finetune_epochs=None,
        finetune_steps="auto",
        batch_size=batch_size,
        max_train_length=max_train_length,
    )
    steps = tuple(
        Budget.of_phase(settings, phase, shape, Ranks()).n_steps
        for phase in ("pretrain", "finetune")
    )
    assert steps == expected


def test_auto_steps_reach_the_estimator(monkeypatch):
    X, _ = two_shapes(n_per_class=10)  # 3 steps an epoch: 25 epochs
    est = TSCCClusterer(**{**STEPS, "pretrain_steps": "auto", "finetune_steps": 0})
    assert sum(phase_steps(est.fit(X), "pretrain")) == 75
