import math

import pytest
import torch

import tscc.losses
from tscc.losses import (
    fuzzy_clustering_loss,
    fuzzy_scatter_ratio_loss,
    hierarchical_contrastive_loss,
    instance_contrastive_loss,
    temporal_contrastive_loss,
)


def _views(b=3, t=4, c=2, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    z1 = torch.randn(b, t, c, generator=gen, dtype=dtype)
    z2 = torch.randn(b, t, c, generator=gen, dtype=dtype)
    return z1, z2


def _info_nce(vectors_1, vectors_2):
    """Reference InfoNCE over one group of paired vectors, with Python loops.

    ``vectors_1[i]`` and ``vectors_2[i]`` are a positive pair; every other vector
    of both lists is a negative. Each of the 2n anchors contributes
    ``-log(exp(s_pos) / sum_{k != anchor} exp(s_k))``; the result is their mean,
    i.e. the average of both directions.
    """
    n = len(vectors_1)
    pool = list(vectors_1) + list(vectors_2)
    terms = []
    for anchor in range(2 * n):
        positive = anchor + n if anchor < n else anchor - n
        sims = {
            k: float(torch.dot(pool[anchor], pool[k]))
            for k in range(2 * n)
            if k != anchor
        }
        log_denominator = math.log(sum(math.exp(s) for s in sims.values()))
        terms.append(log_denominator - sims[positive])
    return sum(terms) / len(terms)


def _reference_instance(z1, z2):
    b, t, _ = z1.shape
    if b == 1:
        return 0.0
    per_timestamp = [
        _info_nce([z1[i, s] for i in range(b)], [z2[i, s] for i in range(b)])
        for s in range(t)
    ]
    return sum(per_timestamp) / t


def _reference_temporal(z1, z2):
    b, t, _ = z1.shape
    if t == 1:
        return 0.0
    per_series = [
        _info_nce([z1[i, s] for s in range(t)], [z2[i, s] for s in range(t)])
        for i in range(b)
    ]
    return sum(per_series) / b


def _pool2(z):
    """Max-pool by two along time, dropping an odd last timestamp."""
    b, t, c = z.shape
    half = t // 2
    return z[:, : 2 * half].reshape(b, half, 2, c).amax(dim=2)


@pytest.mark.parametrize(("b", "t", "c"), [(3, 4, 2), (2, 3, 3), (4, 1, 2)])
def test_instance_loss_matches_loop_reference(b, t, c):
    z1, z2 = _views(b, t, c)
    got = instance_contrastive_loss(z1, z2)
    assert got.shape == ()
    assert got.item() == pytest.approx(_reference_instance(z1, z2), rel=1e-9)


@pytest.mark.parametrize(("b", "t", "c"), [(3, 4, 2), (2, 3, 3), (1, 5, 2)])
def test_temporal_loss_matches_loop_reference(b, t, c):
    z1, z2 = _views(b, t, c, seed=1)
    got = temporal_contrastive_loss(z1, z2)
    assert got.shape == ()
    assert got.item() == pytest.approx(_reference_temporal(z1, z2), rel=1e-9)


def test_two_series_instance_loss_by_hand():
    # B=2, T=1: anchor a has positive a' and negatives b, b'.
    z1 = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]], dtype=torch.float64)
    z2 = torch.tensor([[[2.0, 0.0]], [[0.0, 0.5]]], dtype=torch.float64)
    a, b = z1[:, 0]
    a2, b2 = z2[:, 0]

    def term(anchor, positive, negatives):
        s_pos = float(anchor @ positive)
        s_all = [s_pos] + [float(anchor @ n) for n in negatives]
        return -s_pos + math.log(sum(math.exp(s) for s in s_all))

    expected = (
        term(a, a2, [b, b2])
        + term(b, b2, [a, a2])
        + term(a2, a, [b, b2])
        + term(b2, b, [a, a2])
    ) / 4
    got = instance_contrastive_loss(z1, z2).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_instance_loss_zero_for_single_series():
    z1, z2 = _views(1, 5, 3)
    loss = instance_contrastive_loss(z1, z2)
    assert loss.item() == 0.0
    assert loss.dtype == z1.dtype


def test_temporal_loss_zero_for_single_timestamp():
    z1, z2 = _views(4, 1, 3)
    assert temporal_contrastive_loss(z1, z2).item() == 0.0


def test_identical_views_give_lower_loss():
    z, _ = _views(8, 6, 16, seed=2)
    perm = torch.tensor([1, 2, 3, 4, 5, 6, 7, 0])
    shuffled_series = z[perm]
    shuffled_time = z[:, torch.tensor([1, 2, 3, 4, 5, 0])]
    assert instance_contrastive_loss(z, z) < instance_contrastive_loss(z, -z)
    assert instance_contrastive_loss(z, z) < instance_contrastive_loss(
        z, shuffled_series
    )
    assert temporal_contrastive_loss(z, z) < temporal_contrastive_loss(z, -z)
    assert temporal_contrastive_loss(z, z) < temporal_contrastive_loss(z, shuffled_time)
    assert hierarchical_contrastive_loss(z, z) < hierarchical_contrastive_loss(
        z, shuffled_series
    )


def test_hierarchical_loss_is_average_over_scales():
    z1, z2 = _views(3, 4, 2, seed=3)
    p1, p2 = _pool2(z1), _pool2(z2)  # T=2
    q1, q2 = _pool2(p1), _pool2(p2)  # T=1
    scales = [
        0.5 * _reference_instance(z1, z2) + 0.5 * _reference_temporal(z1, z2),
        0.5 * _reference_instance(p1, p2) + 0.5 * _reference_temporal(p1, p2),
        0.5 * _reference_instance(q1, q2),
    ]
    expected = sum(scales) / 3
    got = hierarchical_contrastive_loss(z1, z2).item()
    assert got == pytest.approx(expected, rel=1e-9)


def test_hierarchical_loss_odd_length_floors_pooling():
    z1, z2 = _views(3, 5, 2, seed=4)
    p1, p2 = _pool2(z1), _pool2(z2)  # T=2 (last timestamp dropped)
    q1, q2 = _pool2(p1), _pool2(p2)  # T=1
    expected = (
        0.3 * _reference_instance(z1, z2)
        + 0.7 * _reference_temporal(z1, z2)
        + 0.3 * _reference_instance(p1, p2)
        + 0.7 * _reference_temporal(p1, p2)
        + 0.3 * _reference_instance(q1, q2)
    ) / 3
    got = hierarchical_contrastive_loss(z1, z2, alpha=0.3).item()
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("temporal_unit", [0, 1, 2, 5])
def test_hierarchical_loss_respects_temporal_unit(temporal_unit):
    z1, z2 = _views(3, 4, 2, seed=5)
    levels = [(z1, z2)]
    while levels[-1][0].shape[1] > 1:
        a, b = levels[-1]
        levels.append((_pool2(a), _pool2(b)))
    total = 0.0
    for scale, (a, b) in enumerate(levels):
        total += 0.5 * _reference_instance(a, b)
        if scale >= temporal_unit:
            total += 0.5 * _reference_temporal(a, b)  # zero at T=1
    expected = total / len(levels)
    got = hierarchical_contrastive_loss(z1, z2, temporal_unit=temporal_unit)
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_hierarchical_loss_single_timestamp_and_single_series():
    z1, z2 = _views(3, 1, 2, seed=6)
    got = hierarchical_contrastive_loss(z1, z2).item()
    assert got == pytest.approx(0.5 * _reference_instance(z1, z2), rel=1e-9)

    z1, z2 = _views(1, 4, 2, seed=7)
    p1, p2 = _pool2(z1), _pool2(z2)
    expected = (
        0.5 * _reference_temporal(z1, z2) + 0.5 * _reference_temporal(p1, p2)
    ) / 3
    got = hierarchical_contrastive_loss(z1, z2).item()
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "loss_fn",
    [instance_contrastive_loss, temporal_contrastive_loss],
)
def test_losses_are_symmetric_in_the_views(loss_fn):
    z1, z2 = _views(3, 4, 2, seed=8)
    assert loss_fn(z1, z2).item() == pytest.approx(loss_fn(z2, z1).item())


@pytest.mark.parametrize(
    "loss_fn",
    [
        instance_contrastive_loss,
        temporal_contrastive_loss,
        hierarchical_contrastive_loss,
    ],
)
def test_gradients_finite_and_reach_both_views(loss_fn):
    z1, z2 = _views(4, 6, 3, seed=9, dtype=torch.float32)
    z1.requires_grad_(True)
    z2.requires_grad_(True)
    loss = loss_fn(z1, z2)
    assert torch.isfinite(loss)
    loss.backward()
    for z in (z1, z2):
        assert z.grad is not None
        assert torch.isfinite(z.grad).all()
        assert z.grad.abs().sum() > 0


def test_fuzzy_clustering_loss_value_and_gradients():
    gen = torch.Generator().manual_seed(0)
    sq = torch.rand(5, 3, generator=gen, dtype=torch.float64) * 4
    p = torch.softmax(torch.randn(5, 3, generator=gen, dtype=torch.float64), 1)
    m = 1.5
    expected = 0.0
    for i in range(5):
        expected += sum(float(p[i, j]) ** m * float(sq[i, j]) for j in range(3))
    expected /= 5

    sq.requires_grad_(True)
    p.requires_grad_(True)
    loss = fuzzy_clustering_loss(sq, p, m)
    assert loss.item() == pytest.approx(expected, rel=1e-12)

    loss.backward()
    assert p.grad is None  # memberships are held fixed
    torch.testing.assert_close(sq.grad, p.detach() ** m / 5)


def test_fuzzy_clustering_loss_does_not_modify_inputs():
    sq = torch.tensor([[1.0, 2.0], [3.0, 0.5]])
    p = torch.tensor([[0.7, 0.3], [0.2, 0.8]])
    sq0, p0 = sq.clone(), p.clone()
    fuzzy_clustering_loss(sq, p, 2.0)
    assert torch.equal(sq, sq0)
    assert torch.equal(p, p0)


def _clustered_features(scale=1.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(6, 3, generator=gen, dtype=torch.float64) * scale
    centers = features[:2].clone() + 0.1 * scale
    sq = ((features[:, None] - centers) ** 2).sum(-1)
    p = torch.softmax(-sq / scale**2, dim=1)
    return features, centers, sq, p


def test_fuzzy_scatter_ratio_loss_by_hand():
    features, _, sq, p = _clustered_features()
    m = 1.5
    within = sum(
        float(p[i, j]) ** m * float(sq[i, j]) for i in range(6) for j in range(2)
    )
    mean = [sum(float(features[i, k]) for i in range(6)) / 6 for k in range(3)]
    total = sum(
        (float(features[i, k]) - mean[k]) ** 2 for i in range(6) for k in range(3)
    )
    loss = fuzzy_scatter_ratio_loss(features, sq, p, m)
    assert loss.item() == pytest.approx(within / total, rel=1e-12)


def test_fuzzy_scatter_ratio_loss_ignores_the_scale_of_the_features():
    features, centers, sq, p = _clustered_features()
    loss = fuzzy_scatter_ratio_loss(features, sq, p, 1.5)
    big = fuzzy_scatter_ratio_loss(features * 7, sq * 49, p, 1.5)
    assert big.item() == pytest.approx(loss.item(), rel=1e-12)
    # the plain objective is what shrinking the features would lower
    assert fuzzy_clustering_loss(sq * 49, p, 1.5) > fuzzy_clustering_loss(sq, p, 1.5)


def test_fuzzy_scatter_ratio_loss_gradients_flow_through_both_terms():
    features, centers, _, p = _clustered_features()

    def ratio(f):
        return fuzzy_scatter_ratio_loss(
            f, ((f[:, None] - centers) ** 2).sum(-1), p, 1.5
        )

    assert torch.autograd.gradcheck(ratio, (features.requires_grad_(True),))
    # moving every series onto its nearest centre lowers the ratio
    moved = centers[((features[:, None] - centers) ** 2).sum(-1).argmin(1)]
    assert ratio(features + 0.5 * (moved - features)) < ratio(features)


def test_fuzzy_scatter_ratio_loss_zero_when_features_do_not_vary():
    features = torch.ones(4, 2, requires_grad=True)
    sq = torch.ones(4, 2, requires_grad=True)
    p = torch.full((4, 2), 0.5)
    loss = fuzzy_scatter_ratio_loss(features, sq, p, 1.5)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(features.grad, torch.zeros_like(features))
    assert torch.equal(sq.grad, torch.zeros_like(sq))


def test_fuzzy_scatter_ratio_loss_needs_two_series():
    with pytest.raises(ValueError, match="at least 2 series"):
        fuzzy_scatter_ratio_loss(
            torch.ones(1, 2), torch.ones(1, 2), torch.ones(1, 2), 2.0
        )


# ------------------------------------------------ blockwise similarity logsumexp


def _one_block_lse(z):
    sim = z @ z.transpose(1, 2)
    eye = torch.eye(z.shape[1], dtype=torch.bool)
    return torch.logsumexp(sim.masked_fill(eye, float("-inf")), dim=-1)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of two 4 x 4 similarity matrices: 5 groups run as 2 + 2 + 1."""
    monkeypatch.setattr(tscc.losses, "_BLOCK_ELEMENTS", 2 * 4 * 4)


def _groups(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(5, 4, 3, generator=gen, dtype=torch.float64)


def test_similarity_logsumexp_gradcheck_over_several_blocks(small_blocks):
    assert tscc.losses._group_chunks(5, 4) == [slice(0, 2), slice(2, 4), slice(4, 6)]
    z = _groups().requires_grad_(True)
    similarity_lse = tscc.losses._SimilarityLogSumExp.apply
    assert torch.autograd.gradcheck(similarity_lse, (z,))


def test_similarity_logsumexp_blockwise_equals_one_block(small_blocks, monkeypatch):
    z = _groups(seed=2).requires_grad_(True)
    upstream = torch.randn(5, 4, generator=torch.Generator().manual_seed(3)).double()

    def value_and_gradient():
        lse = tscc.losses._SimilarityLogSumExp.apply(z)
        (grad,) = torch.autograd.grad(lse, z, upstream)
        return lse.detach(), grad

    blockwise = value_and_gradient()
    monkeypatch.setattr(tscc.losses, "_BLOCK_ELEMENTS", 1 << 22)
    assert len(tscc.losses._group_chunks(5, 4)) == 1
    one_block = value_and_gradient()
    torch.testing.assert_close(blockwise, one_block, rtol=1e-14, atol=1e-14)
    # and both are the plain logsumexp over the similarities without the diagonal
    reference = _one_block_lse(z)
    (reference_grad,) = torch.autograd.grad(reference, z, upstream)
    torch.testing.assert_close(one_block, (reference.detach(), reference_grad))
