import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from tscc.clustering import (
    fuzzy_center_step,
    fuzzy_memberships,
    kmeans_centers,
    reseed_empty_clusters,
    squared_distances,
    update_centers,
)


def _data(n=7, k=3, d=4, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(n, d, generator=gen, dtype=dtype)
    centers = torch.randn(k, d, generator=gen, dtype=dtype)
    return features, centers


def test_squared_distances_match_cdist():
    features, centers = _data()
    got = squared_distances(features, centers)
    expected = cdist(features.numpy(), centers.numpy(), "sqeuclidean")
    assert got.shape == (7, 3)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert (got >= 0).all()


def test_squared_distances_float32_and_gradients():
    features, centers = _data(dtype=torch.float32)
    features.requires_grad_(True)
    centers.requires_grad_(True)
    sq = squared_distances(features, centers)
    expected = (
        cdist(features.detach().double().numpy(), centers.detach().double().numpy())
        ** 2
    )
    np.testing.assert_allclose(sq.detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    sq.sum().backward()
    # d/dr_i sum_j ||r_i - u_j||^2 = 2 sum_j (r_i - u_j)
    expected_grad = 2 * (3 * features.detach() - centers.detach().sum(0))
    torch.testing.assert_close(features.grad, expected_grad)
    assert torch.isfinite(centers.grad).all()


def test_squared_distance_to_itself_is_zero():
    features, _ = _data()
    sq = squared_distances(features, features)
    assert torch.all(sq.diagonal() == 0)


@pytest.mark.parametrize("m", [1.1, 1.5, 2.0, 3.0])
def test_memberships_rows_sum_to_one_and_order(m):
    features, centers = _data(n=20, k=4)
    sq = squared_distances(features, centers)
    p = fuzzy_memberships(sq, m)
    assert p.shape == sq.shape
    torch.testing.assert_close(p.sum(1), torch.ones(20, dtype=p.dtype))
    assert (p >= 0).all()
    assert (p <= 1).all()
    for i in range(20):
        order_by_distance = torch.argsort(sq[i])
        order_by_membership = torch.argsort(p[i], descending=True)
        assert torch.equal(order_by_distance, order_by_membership)


def test_memberships_closed_form_m2():
    sq = torch.tensor([[1.0, 4.0, 2.0], [0.5, 0.25, 9.0]], dtype=torch.float64)
    p = fuzzy_memberships(sq, 2.0)
    expected = np.empty((2, 3))
    for i in range(2):
        for j in range(3):
            # classic fuzzy c-means: 1 / sum_k (d_ij / d_ik)^(1 / (m - 1))
            expected[i, j] = 1 / sum(float(sq[i, j] / sq[i, k]) for k in range(3))
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("m", [1.5, 2.0, 4.0])
def test_memberships_general_closed_form(m):
    features, centers = _data(n=6, k=3, seed=1)
    sq = squared_distances(features, centers)
    inv = sq ** (-1 / (m - 1))
    expected = inv / inv.sum(1, keepdim=True)
    torch.testing.assert_close(fuzzy_memberships(sq, m), expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("m", [1.5, 2.0])
def test_zero_distance_gives_full_membership(dtype, m):
    sq = torch.tensor([[0.0, 1.0, 4.0], [2.0, 0.0, 0.5], [0.0, 0.0, 1.0]], dtype=dtype)
    p = fuzzy_memberships(sq, m)
    assert not torch.isnan(p).any()
    torch.testing.assert_close(p.sum(1), torch.ones(3, dtype=dtype))
    assert p[0, 0] > 1 - 1e-6
    assert p[1, 1] > 1 - 1e-6
    # two centres at distance zero share the membership
    torch.testing.assert_close(p[2], torch.tensor([0.5, 0.5, 0.0], dtype=dtype))


def test_memberships_approach_hard_assignment_as_m_to_one():
    gen = torch.Generator().manual_seed(3)
    sq = torch.rand(30, 4, generator=gen, dtype=torch.float64) * 9 + 1
    nearest = sq.argmin(1)
    # keep a clear gap between the nearest and the second nearest centre
    sq[torch.arange(30), nearest] /= 1.5
    p = fuzzy_memberships(sq, 1.01)
    hard = torch.nn.functional.one_hot(nearest, 4).to(p.dtype)
    torch.testing.assert_close(p, hard, atol=1e-10, rtol=0)
    # and are softer for a larger fuzzifier
    soft = fuzzy_memberships(sq, 3.0)
    assert (soft.amax(1) < p.amax(1)).all()


def test_equal_distances_give_uniform_memberships():
    p = fuzzy_memberships(torch.full((2, 4), 3.0), 1.5)
    torch.testing.assert_close(p, torch.full((2, 4), 0.25))


def _loop_update_centers(features, memberships, m):
    n, d = features.shape
    k = memberships.shape[1]
    centers = np.zeros((k, d))
    for j in range(k):
        numerator = np.zeros(d)
        denominator = 0.0
        for i in range(n):
            w = float(memberships[i, j]) ** m
            numerator += w * features[i].numpy()
            denominator += w
        centers[j] = numerator / denominator
    return centers


@pytest.mark.parametrize("m", [1.2, 1.5, 2.0])
def test_update_centers_matches_loop_reference(m):
    features, centers = _data(n=9, k=3, d=2, seed=4)
    p = fuzzy_memberships(squared_distances(features, centers), m)
    got = update_centers(features, p, m)
    assert got.shape == (3, 2)
    np.testing.assert_allclose(
        got.numpy(), _loop_update_centers(features, p, m), rtol=1e-10
    )


@pytest.mark.parametrize("m", [1.5, 2.0])
def test_update_centers_with_hard_memberships_gives_means(m):
    features, _ = _data(n=10, k=3, d=3, seed=5)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 0, 1, 2])
    p = torch.nn.functional.one_hot(labels, 3).to(features.dtype)
    got = update_centers(features, p, m)
    for j in range(3):
        torch.testing.assert_close(got[j], features[labels == j].mean(0))


def test_update_centers_on_data_at_centres_is_a_fixed_point():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]], dtype=torch.float64)
    features = centers.repeat(3, 1)
    p = fuzzy_memberships(squared_distances(features, centers), 1.5)
    torch.testing.assert_close(update_centers(features, p, 1.5), centers)


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    true_centers = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    points = true_centers.repeat(15, axis=0) + 0.3 * rng.standard_normal((45, 2))
    return points.astype(np.float32), true_centers


def test_kmeans_centers_deterministic_and_float64():
    points, true_centers = _blobs()
    a = kmeans_centers(points, n_clusters=3, n_init=2, seed=0)
    b = kmeans_centers(points, n_clusters=3, n_init=2, seed=0)
    assert isinstance(a, np.ndarray)
    assert a.shape == (3, 2)
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    # each true centre is found
    nearest = cdist(true_centers, a).min(axis=1)
    assert np.all(nearest < 0.5)


def test_kmeans_centers_accepts_tensors_and_lists():
    points, _ = _blobs(1)
    from_array = kmeans_centers(points, 3, 1, seed=2)
    from_list = kmeans_centers(points.tolist(), 3, 1, seed=2)
    from_tensor = kmeans_centers(torch.from_numpy(points), 3, 1, seed=2)
    np.testing.assert_array_equal(from_array, from_list)
    np.testing.assert_array_equal(from_array, from_tensor)


# ---------------------------------------------------------------------------
# empty-cluster re-seeding


def test_reseed_moves_empty_clusters_to_farthest_series():
    features = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [9.0, 9.0]])
    centers = torch.tensor([[0.0, 0.0], [100.0, 100.0], [-100.0, -100.0]])
    new, moved = reseed_empty_clusters(features, centers)
    assert moved.tolist() == [1, 2]
    torch.testing.assert_close(new[0], centers[0])
    torch.testing.assert_close(new[1], features[3])  # farthest first
    torch.testing.assert_close(new[2], features[2])
    nearest = squared_distances(features, new).argmin(dim=1)
    assert set(nearest.tolist()) == {0, 1, 2}


def test_reseed_leaves_full_clusters_alone():
    features = torch.tensor([[0.0], [1.0], [10.0]])
    centers = torch.tensor([[0.5], [10.0]])
    new, moved = reseed_empty_clusters(features, centers)
    assert new is centers and moved.numel() == 0


def test_reseed_is_deterministic():
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(50, 3, generator=gen)
    centers = torch.cat([features[:2], torch.full((3, 3), 1e3)])
    first = reseed_empty_clusters(features, centers)
    second = reseed_empty_clusters(features, centers)
    torch.testing.assert_close(first[0], second[0], rtol=0, atol=0)


def test_fuzzy_center_step_is_update_then_reseed():
    gen = torch.Generator().manual_seed(1)
    features = torch.randn(30, 2, generator=gen, dtype=torch.float64)
    centers = features[[0, 1]].clone()
    new, moved = fuzzy_center_step(features, centers, 1.5)
    expected = update_centers(
        features, fuzzy_memberships(squared_distances(features, centers), 1.5), 1.5
    )
    torch.testing.assert_close(new, expected)
    assert moved.numel() == 0
