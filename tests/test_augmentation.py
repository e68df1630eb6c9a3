import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tscc.augmentation import CropPlan, draw_crops, perturb_waveforms, take_windows


def _check_plan(plan, n_series, n_timestamps, min_overlap):
    assert isinstance(plan, CropPlan)
    offsets = np.asarray(plan.offsets)
    assert offsets.shape == (n_series,)
    assert np.issubdtype(offsets.dtype, np.integer)
    assert np.all(offsets + plan.left_start >= 0)
    assert np.all(offsets + plan.right_end <= n_timestamps)
    assert 0 <= plan.left_start <= plan.overlap_start
    assert plan.overlap_start < plan.overlap_end <= plan.right_end <= n_timestamps
    assert plan.overlap_length == plan.overlap_end - plan.overlap_start
    assert min_overlap <= plan.overlap_length <= n_timestamps


@pytest.mark.parametrize(
    ("n_timestamps", "min_overlap"),
    [(t, 2) for t in (2, 3, 4, 7, 16, 33, 100)] + [(t, 4) for t in (4, 5, 9, 64)],
)
def test_crop_plan_invariants_many_seeds(n_timestamps, min_overlap):
    for seed in range(200):
        plan = draw_crops(5, n_timestamps, min_overlap, np.random.default_rng(seed))
        _check_plan(plan, 5, n_timestamps, min_overlap)


@settings(max_examples=50, deadline=None)
@given(
    n_series=st.integers(1, 6),
    temporal_unit=st.integers(0, 3),
    extra=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_crop_plan_invariants_property(n_series, temporal_unit, extra, seed):
    min_overlap = 2 ** (temporal_unit + 1)
    n_timestamps = min_overlap + extra
    plan = draw_crops(n_series, n_timestamps, min_overlap, np.random.default_rng(seed))
    _check_plan(plan, n_series, n_timestamps, min_overlap)

    x = _identity(n_series, n_timestamps)
    view1, view2 = _views(x, plan)
    assert view1.shape == (n_series, plan.overlap_end - plan.left_start, 2)
    assert view2.shape == (n_series, plan.right_end - plan.overlap_start, 2)
    overlap = plan.overlap_length
    assert torch.equal(view1[:, -overlap:], view2[:, :overlap])


def test_overlap_equal_to_length_is_the_whole_series():
    plan = draw_crops(3, 4, 4, np.random.default_rng(0))
    assert (plan.left_start, plan.overlap_start) == (0, 0)
    assert (plan.overlap_end, plan.right_end) == (4, 4)
    assert np.all(plan.offsets == 0)


def test_all_plans_reachable_for_short_series():
    # T=3, min_overlap=2: overlaps of length 2 and 3 both occur.
    lengths = {
        draw_crops(2, 3, 2, np.random.default_rng(seed)).overlap_length
        for seed in range(100)
    }
    assert lengths == {2, 3}


@pytest.mark.parametrize(("n_timestamps", "min_overlap"), [(1, 2), (3, 4), (0, 2)])
def test_draw_crops_rejects_too_short_series(n_timestamps, min_overlap):
    with pytest.raises(ValueError, match="shorter than the minimal overlap"):
        draw_crops(2, n_timestamps, min_overlap, np.random.default_rng(0))


def test_draw_crops_deterministic_for_seed():
    a = draw_crops(7, 50, 2, np.random.default_rng(123))
    b = draw_crops(7, 50, 2, np.random.default_rng(123))
    assert np.array_equal(a.offsets, b.offsets)
    assert (a.left_start, a.overlap_start, a.overlap_end, a.right_end) == (
        b.left_start,
        b.overlap_start,
        b.overlap_end,
        b.right_end,
    )
    plans = [draw_crops(7, 50, 2, np.random.default_rng(s)) for s in range(5)]
    assert len({(p.left_start, p.overlap_start, p.overlap_end) for p in plans}) > 1


def _identity(n_series, n_timestamps):
    """x[b, t, 0] = t and x[b, t, 1] = b."""
    t = torch.arange(n_timestamps, dtype=torch.float32)
    b = torch.arange(n_series, dtype=torch.float32)
    return torch.stack(
        [t.expand(n_series, -1), b[:, None].expand(-1, n_timestamps)], dim=-1
    ).contiguous()


def _views(x, plan):
    view1 = take_windows(
        x, plan.offsets + plan.left_start, plan.overlap_end - plan.left_start
    )
    view2 = take_windows(
        x, plan.offsets + plan.overlap_start, plan.right_end - plan.overlap_start
    )
    return view1, view2


@pytest.mark.parametrize("seed", range(20))
def test_views_share_the_same_original_timestamps(seed):
    n_series, n_timestamps = 4, 30
    plan = draw_crops(n_series, n_timestamps, 2, np.random.default_rng(seed))
    x = _identity(n_series, n_timestamps)
    before = x.clone()
    view1, view2 = _views(x, plan)
    assert torch.equal(x, before)

    overlap = plan.overlap_length
    assert torch.equal(view1[:, -overlap:], view2[:, :overlap])
    for b in range(n_series):
        start1 = plan.offsets[b] + plan.left_start
        expected1 = torch.arange(start1, start1 + view1.shape[1]).float()
        assert torch.equal(view1[b, :, 0], expected1)
        start2 = plan.offsets[b] + plan.overlap_start
        expected2 = torch.arange(start2, start2 + view2.shape[1]).float()
        assert torch.equal(view2[b, :, 0], expected2)
        # the shared timestamps are the overlap shifted by this series' offset
        shared = torch.arange(plan.overlap_start, plan.overlap_end) + plan.offsets[b]
        assert torch.equal(view2[b, :overlap, 0], shared.float())
        assert torch.all(view1[b, :, 1] == b)
        assert torch.all(view2[b, :, 1] == b)


def test_take_windows_returns_a_new_tensor():
    x = _identity(2, 6)
    windows = take_windows(x, np.array([1, 3]), 3)
    assert windows.shape == (2, 3, 2)
    assert torch.equal(windows[0, :, 0], torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(windows[1, :, 0], torch.tensor([3.0, 4.0, 5.0]))
    windows[:] = -1
    assert torch.equal(x, _identity(2, 6))


def test_take_windows_accepts_lists_and_tensors():
    x = _identity(3, 5)
    from_list = take_windows(x, [0, 1, 2], 2)
    from_tensor = take_windows(x, torch.tensor([0, 1, 2]), 2)
    assert torch.equal(from_list, from_tensor)


def test_perturb_waveforms_is_a_random_sign_and_gain_per_series():
    x = torch.sin(torch.linspace(0, 40, 400)).reshape(1, 400, 1).repeat(64, 1, 2)
    x = x * torch.linspace(0.1, 10, 64).reshape(64, 1, 1)  # any amplitude
    y = perturb_waveforms(x, torch.Generator().manual_seed(0))
    factor = y[:, 5:6, :1] / x[:, 5:6, :1]
    torch.testing.assert_close(y, factor * x)  # one factor per series
    gains = factor.abs().flatten()
    assert ((gains >= 0.5) & (gains <= 2.0)).all()
    assert gains.max() / gains.min() > 2  # spread over the range, not fixed
    assert (factor > 0).any() and (factor < 0).any()


def test_perturb_waveforms_keeps_missing_timestamps_and_input():
    x = torch.randn(5, 30, 2)
    x[1, :4] = float("nan")
    x[3] = float("nan")  # a series with nothing observed
    before = x.clone()
    y = perturb_waveforms(x, torch.Generator().manual_seed(1))
    assert torch.equal(torch.isnan(y), torch.isnan(x))
    assert torch.equal(torch.nan_to_num(x), torch.nan_to_num(before))


def test_perturb_waveforms_repeats_for_a_seed():
    x = torch.randn(8, 50, 1)
    a = perturb_waveforms(x, torch.Generator().manual_seed(3))
    b = perturb_waveforms(x, torch.Generator().manual_seed(3))
    c = perturb_waveforms(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
