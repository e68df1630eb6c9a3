"""Fuzzy clustering step: memberships, centre updates and K-means initialisation.

These helpers work on feature matrices ``R`` of shape ``(n_series, repr_dims)``
and centres ``U`` of shape ``(n_clusters, repr_dims)``, all clusters at once.
"""

import math

import numpy as np
import torch
from sklearn.cluster import KMeans

from .distributed import Ranks

__all__ = [
    "squared_distances",
    "fuzzy_memberships",
    "center_sums",
    "update_centers",
    "reseed_empty_clusters",
    "fuzzy_center_step",
    "kmeans_centers",
]

# Elements of the largest temporary of squared_distances (16 MB in float32).
_DIFFERENCE_ELEMENTS = 2**22


def squared_distances(features, centers):
    """Squared Euclidean distances between every feature row and every centre.

    Parameters
    ----------
    features : torch.Tensor of shape (n_series, n_dims)
    centers : torch.Tensor of shape (n_clusters, n_dims)

    Returns
    -------
    sq_distances : torch.Tensor of shape (n_series, n_clusters)
        Non-negative; differentiable with respect to both inputs. Computed
        for blocks of rows, so that the temporary differences stay small.

    Examples
    --------
    >>> import torch
    >>> from tscc.clustering import squared_distances
    >>> squared_distances(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]]))
    tensor([[25.]])
    """
    # The N x K x D differences are built for a block of rows at a time, so
    # that memory stays bounded for any number of series; every row's sum is
    # the same whatever the block it falls in.
    rows = max(1, _DIFFERENCE_ELEMENTS // max(1, centers.shape[0] * centers.shape[1]))
    blocks = [
        (block.unsqueeze(1) - centers.unsqueeze(0)).pow(2).sum(dim=-1)
        for block in features.split(rows)
    ]
    return blocks[0] if len(blocks) == 1 else torch.cat(blocks)


def fuzzy_memberships(sq_distances, m):
    """Fuzzy c-means memberships from squared distances.

    ``p_ij`` is proportional to ``sq_distances_ij ** (-1 / (m - 1))`` and each row
    sums to one. Computed in the log domain, so a zero distance gives a
    membership of one instead of a division by zero.

    Parameters
    ----------
    sq_distances : torch.Tensor of shape (n_series, n_clusters)
    m : float
        Fuzzifier, > 1; the closer to 1, the harder the memberships.

    Returns
    -------
    memberships : torch.Tensor of shape (n_series, n_clusters)

    Examples
    --------
    >>> import torch
    >>> from tscc.clustering import fuzzy_memberships
    >>> fuzzy_memberships(torch.tensor([[1.0, 4.0]]), m=2.0)
    tensor([[0.8000, 0.2000]])
    """
    tiny = torch.finfo(sq_distances.dtype).tiny
    log_d = torch.log(sq_distances.clamp_min(tiny))
    return torch.softmax(-log_d / (m - 1), dim=1)


def update_centers(features, memberships, m):
    """Fuzzy c-means centre update ``u_j = sum_i p_ij**m r_i / sum_i p_ij**m``.

    Parameters
    ----------
    features : torch.Tensor of shape (n_series, n_dims)
    memberships : torch.Tensor of shape (n_series, n_clusters)
    m : float
        Fuzzifier, > 1.

    Returns
    -------
    centers : torch.Tensor of shape (n_clusters, n_dims)

    Examples
    --------
    >>> import torch
    >>> from tscc.clustering import update_centers
    >>> r = torch.tensor([[0.0], [2.0]])
    >>> update_centers(r, torch.tensor([[1.0, 0.0], [0.0, 1.0]]), m=2.0)
    tensor([[0.],
            [2.]])
    """
    sums, totals = center_sums(features, memberships, m)
    return sums / totals.clamp_min(torch.finfo(totals.dtype).tiny).unsqueeze(1)


def center_sums(features, memberships, m):
    """Numerator and denominator of the fuzzy c-means centre update.

    Sums over series, so that the sums of blocks of series (on several
    processes, say) add up to the sums over all of them.

    Parameters
    ----------
    features : torch.Tensor of shape (n_series, n_dims)
    memberships : torch.Tensor of shape (n_series, n_clusters)
    m : float
        Fuzzifier, > 1.

    Returns
    -------
    sums : torch.Tensor of shape (n_clusters, n_dims)
        ``sum_i p_ij**m r_i``.
    totals : torch.Tensor of shape (n_clusters,)
        ``sum_i p_ij**m``.
    """
    weights = memberships**m  # N x K
    return weights.T @ features, weights.sum(dim=0)


def reseed_empty_clusters(features, centers, ranks=None):
    """Move centres that are nearest to no series onto the worst-fitted series.

    Like scikit-learn's K-means relocation of empty clusters: the empty
    clusters take, in order, the series farthest from their nearest centre.
    Deterministic: no randomness is involved.

    Parameters
    ----------
    features : torch.Tensor of shape (n_series, n_dims)
        The features of all series, or in a distributed fit of this rank's
        block of them.
    centers : torch.Tensor of shape (n_clusters, n_dims)
        The same on every rank.
    ranks : Ranks, default=None
        The processes holding the series (:mod:`tscc.distributed`): cluster
        sizes are summed over them and each offers its worst-fitted series,
        so every rank re-seeds as one process would from all features.
        ``None`` is this process alone.

    Returns
    -------
    centers : torch.Tensor of shape (n_clusters, n_dims)
        A new tensor when a centre moved, else ``centers`` itself.
    reseeded : torch.Tensor of int64
        Indices of the clusters that were empty and have been moved.

    Examples
    --------
    >>> import torch
    >>> from tscc.clustering import reseed_empty_clusters
    >>> r = torch.tensor([[0.0], [1.0], [10.0]])
    >>> centers, moved = reseed_empty_clusters(r, torch.tensor([[0.5], [-50.0]]))
    >>> centers.flatten().tolist(), moved.tolist()
    ([0.5, 10.0], [1])
    """
    ranks = Ranks() if ranks is None else ranks
    sq_distances = squared_distances(features, centers)
    counts = torch.bincount(sq_distances.argmin(dim=1), minlength=len(centers))
    empty = torch.nonzero(ranks.sum(counts) == 0).flatten()
    if empty.numel() == 0:
        return centers, empty
    n_series = ranks.sum(torch.tensor([len(features)], device=features.device))
    n_moved = min(empty.numel(), int(n_series.item()))
    # each rank offers its n_moved worst-fitted series; the worst of all win
    fit = sq_distances.min(dim=1).values
    n_offered = min(n_moved, len(fit))
    worst = fit.topk(n_offered).indices
    offers = features.new_full((n_moved, features.shape[1] + 1), -math.inf)
    offers[:n_offered, 0] = fit[worst]
    offers[:n_offered, 1:] = features[worst]
    everyone = ranks.gather_rows(offers, n_moved * ranks.size)
    chosen = everyone[:, 0].topk(n_moved).indices
    centers = centers.clone()
    centers[empty[:n_moved]] = everyone[chosen, 1:].to(centers.dtype)
    return centers, empty[:n_moved]


def fuzzy_center_step(features, centers, m, ranks=None):
    """One fuzzy c-means centre update over all series, empty clusters re-seeded.

    Parameters
    ----------
    features : torch.Tensor of shape (n_series, n_dims)
        The features of all series, or in a distributed fit of this rank's
        block of them.
    centers : torch.Tensor of shape (n_clusters, n_dims)
        The same on every rank.
    m : float
        Fuzzifier, > 1.
    ranks : Ranks, default=None
        The processes holding the series: the weighted sums of the update are
        summed over them (one all-reduce), so every rank computes the centres
        one process would from all features. ``None`` is this process alone.

    Returns
    -------
    centers : torch.Tensor of shape (n_clusters, n_dims)
        Updated centres.
    reseeded : torch.Tensor of int64
        Indices of clusters that were left empty and re-seeded.
    """
    ranks = Ranks() if ranks is None else ranks
    memberships = fuzzy_memberships(squared_distances(features, centers), m)
    sums, totals = center_sums(features, memberships, m)
    packed = ranks.sum(torch.cat([sums, totals.unsqueeze(1)], dim=1))
    sums, totals = packed[:, :-1], packed[:, -1]
    centers = sums / totals.clamp_min(torch.finfo(totals.dtype).tiny).unsqueeze(1)
    return reseed_empty_clusters(features, centers, ranks)


def kmeans_centers(features, n_clusters, n_init, seed):
    """K-means centres of a feature matrix, deterministic for a given seed.

    Parameters
    ----------
    features : ndarray of shape (n_series, n_dims)
    n_clusters : int
    n_init : int
        Number of K-means restarts.
    seed : int
        Seed of the K-means initialisation.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_dims), dtype float64
    """
    # The float64 array is a copy of our own: K-means may centre it in place
    # rather than copy it once more (same centres, a third less memory).
    kmeans = KMeans(
        n_clusters=n_clusters, n_init=n_init, random_state=seed, copy_x=False
    )
    kmeans.fit(np.array(np.asarray(features), dtype=np.float64))
    return kmeans.cluster_centers_
