"""Contrastive and fuzzy clustering losses.

Every function is pure: it takes tensors and returns a scalar tensor that
gradients flow through. Shapes are given as ``B x T x C`` (batch, timestamps,
representation channels).

The clustering terms of fine-tuning are listed in :data:`CLUSTER_LOSSES`, the
one place a new term is added: the estimator's ``cluster_loss`` choices, its
default weights and the documentation follow from that table.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "CLUSTER_LOSSES",
    "ClusterLoss",
    "instance_contrastive_loss",
    "temporal_contrastive_loss",
    "hierarchical_contrastive_loss",
    "fuzzy_clustering_loss",
    "fuzzy_scatter_ratio_loss",
    "fuzzy_objective",
]


# Elements of one similarity block (2N x 2N per group, several groups at once)
# processed at a time: 4M floats = 16 MiB stays below glibc's mmap threshold and
# mostly in cache, so no page-faulting of fresh gigabyte-sized buffers per step.
_BLOCK_ELEMENTS = 1 << 22


def _group_chunks(n_groups, rows):
    step = max(1, _BLOCK_ELEMENTS // (rows * rows))
    return [slice(start, start + step) for start in range(0, n_groups, step)]


def _masked_similarity(z):  # z: G x R x C
    sim = torch.matmul(z, z.transpose(1, 2))  # G x R x R
    sim.diagonal(dim1=1, dim2=2).fill_(float("-inf"))  # a row is no negative
    return sim


class _SimilarityLogSumExp(torch.autograd.Function):
    """Row-wise logsumexp of ``z z^T`` without its diagonal, block by block.

    Equivalent to ``torch.logsumexp(masked (z @ z^T), -1)``, but the R x R
    similarity matrices are never all alive at once: the forward keeps only the
    per-row results, and the backward recomputes each block. Memory is
    O(block) instead of O(G R^2), which is what makes long series affordable.
    """

    @staticmethod
    def forward(ctx, z):  # z: G x R x C
        lse = z.new_empty(z.shape[:2])
        for chunk in _group_chunks(z.shape[0], z.shape[1]):
            lse[chunk] = torch.logsumexp(_masked_similarity(z[chunk]), dim=-1)
        ctx.save_for_backward(z, lse)
        return lse  # G x R

    @staticmethod
    def backward(ctx, grad_lse):  # grad_lse: G x R
        z, lse = ctx.saved_tensors
        grad_z = torch.empty_like(z)
        for chunk in _group_chunks(z.shape[0], z.shape[1]):
            zc = z[chunk]
            # d lse_r / d sim_rc = softmax_rc, weighted by the incoming gradient
            weights = (_masked_similarity(zc) - lse[chunk].unsqueeze(-1)).exp_()
            weights.mul_(grad_lse[chunk].unsqueeze(-1))
            # sim = z z^T, so both factors receive a gradient
            grad_z[chunk] = torch.matmul(weights, zc) + torch.matmul(
                weights.transpose(1, 2), zc
            )
        return grad_z


def _paired_contrastive_loss(z1, z2):
    """InfoNCE over the middle axis of two aligned views.

    ``z1[g, i]`` and ``z2[g, i]`` are a positive pair; every other row of both
    views in the same group ``g`` is a negative. Returns the mean loss over
    groups and both directions.
    """
    z = torch.cat([z1, z2], dim=1)  # G x 2N x C
    # -log softmax at the positive = logsumexp(row) - positive similarity; the
    # positive of row i is row n + i and vice versa, both equal to z1_i . z2_i,
    # so no gather over the 2N x 2N matrix is needed.
    positive = (z1 * z2).sum(dim=-1)  # G x N
    return _SimilarityLogSumExp.apply(z).mean() - positive.mean()


def instance_contrastive_loss(z1, z2):
    """Instance-wise contrastive loss at each timestamp.

    Parameters
    ----------
    z1, z2 : torch.Tensor of shape (B, T, C)
        Representations of the two views, aligned in time.

    Returns
    -------
    loss : torch.Tensor
        Scalar; zero when the batch holds a single series (no negatives).
    """
    if z1.shape[0] == 1:
        return z1.new_zeros(())
    return _paired_contrastive_loss(z1.transpose(0, 1), z2.transpose(0, 1))


def temporal_contrastive_loss(z1, z2):
    """Temporal contrastive loss within each series.

    Parameters
    ----------
    z1, z2 : torch.Tensor of shape (B, T, C)
        Representations of the two views, aligned in time.

    Returns
    -------
    loss : torch.Tensor
        Scalar; zero when the views have a single timestamp.
    """
    if z1.shape[1] == 1:
        return z1.new_zeros(())
    return _paired_contrastive_loss(z1, z2)


def hierarchical_contrastive_loss(z1, z2, alpha=0.5, temporal_unit=0):
    """Instance and temporal losses averaged over a max-pooling hierarchy.

    At each scale the time axis is halved by max-pooling until one timestamp
    is left; the temporal term starts at scale ``temporal_unit``.

    Parameters
    ----------
    z1, z2 : torch.Tensor of shape (B, T, C)
        Representations of the overlap of the two views.
    alpha : float, default=0.5
        Weight of the instance term; the temporal term gets ``1 - alpha``.
    temporal_unit : int, default=0
        Smallest scale at which the temporal term is applied.

    Returns
    -------
    loss : torch.Tensor
        Scalar loss.

    Examples
    --------
    >>> import torch
    >>> from tscc.losses import hierarchical_contrastive_loss
    >>> z = torch.randn(4, 8, 3, generator=torch.Generator().manual_seed(0))
    >>> bool(hierarchical_contrastive_loss(z, z) < hierarchical_contrastive_loss(z, -z))
    True
    """
    loss = z1.new_zeros(())
    n_scales = 0
    while True:
        loss = loss + alpha * instance_contrastive_loss(z1, z2)
        if n_scales >= temporal_unit and z1.shape[1] > 1:
            loss = loss + (1 - alpha) * temporal_contrastive_loss(z1, z2)
        n_scales += 1
        if z1.shape[1] == 1:
            break
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)
    return loss / n_scales


def fuzzy_clustering_loss(sq_distances, memberships, m):
    """Fuzzy c-means objective, averaged over series.

    Parameters
    ----------
    sq_distances : torch.Tensor of shape (n_series, n_clusters)
        Squared Euclidean distances between features and centres; gradients
        flow through it into the encoder.
    memberships : torch.Tensor of shape (n_series, n_clusters)
        Memberships held fixed within the step (no gradient).
    m : float
        Fuzzifier, > 1.

    Returns
    -------
    loss : torch.Tensor
        ``mean_i sum_j memberships_ij**m * sq_distances_ij``.
    """
    weights = memberships.detach() ** m
    return (weights * sq_distances).sum(dim=1).mean()


def fuzzy_scatter_ratio_loss(features, sq_distances, memberships, m):
    """Fuzzy c-means objective divided by the features' total scatter.

    The plain objective (:func:`fuzzy_clustering_loss`) is a sum of squared
    distances, which an encoder can also lower by shrinking all features
    towards the centres, squeezing the directions that separate the clusters.
    Dividing it by the total scatter of the same features around their mean
    makes it scale-free: a within-to-total scatter ratio, lowered only by
    making clusters tighter relative to the spread of the data. Gradients flow
    through both terms.

    Parameters
    ----------
    features : torch.Tensor of shape (n_series, repr_dims)
        Features of at least two series.
    sq_distances : torch.Tensor of shape (n_series, n_clusters)
        Squared Euclidean distances between ``features`` and the centres.
    memberships : torch.Tensor of shape (n_series, n_clusters)
        Memberships held fixed within the step (no gradient).
    m : float
        Fuzzifier, > 1.

    Returns
    -------
    loss : torch.Tensor
        ``fuzzy_clustering_loss / mean_i ||features_i - mean(features)||**2``;
        zero when the features do not vary at all (nothing to scale against).

    Examples
    --------
    >>> import torch
    >>> from tscc.clustering import fuzzy_memberships, squared_distances
    >>> from tscc.losses import fuzzy_scatter_ratio_loss
    >>> features = torch.tensor([[0.0, 0.0], [0.2, 0.0], [4.0, 0.0], [4.2, 0.0]])
    >>> centers = torch.tensor([[0.1, 0.0], [4.1, 0.0]])
    >>> d = squared_distances(features, centers)
    >>> p = fuzzy_memberships(d, 1.5)
    >>> loss = fuzzy_scatter_ratio_loss(features, d, p, 1.5)
    >>> scaled = fuzzy_scatter_ratio_loss(10 * features, 100 * d, p, 1.5)
    >>> bool(torch.isclose(loss, scaled)), bool(loss < 0.01)
    (True, True)
    """
    if features.shape[0] < 2:
        raise ValueError(
            "the scatter ratio needs the features of at least 2 series, "
            f"got {features.shape[0]}."
        )
    within = fuzzy_clustering_loss(sq_distances, memberships, m)
    total = (features - features.mean(dim=0)).square().sum(dim=1).mean()
    # torch.where rather than an if: no host sync per step on a GPU
    tiny = torch.finfo(total.dtype).tiny
    return torch.where(total > 0, within / total.clamp_min(tiny), within * 0.0)


def fuzzy_objective(sq_distances, memberships, m):
    """Fuzzy c-means objective summed over series (what ``score`` negates).

    Parameters
    ----------
    sq_distances : torch.Tensor of shape (n_series, n_clusters)
    memberships : torch.Tensor of shape (n_series, n_clusters)
    m : float
        Fuzzifier, > 1.

    Returns
    -------
    objective : torch.Tensor
        ``sum_i sum_j memberships_ij**m * sq_distances_ij``; sums of blocks
        of series add up to the sum over all of them.
    """
    return (memberships**m * sq_distances).sum()


def _fcm_term(features, sq_distances, memberships, m):
    return fuzzy_clustering_loss(sq_distances, memberships, m)


@dataclass(frozen=True)
class ClusterLoss:
    """A clustering term of fine-tuning, as :data:`CLUSTER_LOSSES` lists it.

    Parameters
    ----------
    function : callable
        ``function(features, sq_distances, memberships, m) -> loss``, the
        features of a batch's series, their squared distances to the fixed
        centres, their memberships (held fixed) and the fuzzifier.
    default_weight : float
        Weight of the term that ``cluster_weight="auto"`` gives.
    min_series : int
        Fewest series the term needs; a batch with fewer trains on the
        contrastive loss alone.
    score : callable
        ``score(sq_distances, memberships, m) -> objective`` summed over
        series; the estimator's ``score`` is minus its sum over all series.
    description : str
        One paragraph for the estimator's documentation.
    """

    function: Callable
    default_weight: float
    min_series: int
    score: Callable
    description: str


#: The clustering terms of fine-tuning, by the name ``cluster_loss`` takes.
CLUSTER_LOSSES = {
    "fcm_ratio": ClusterLoss(
        function=fuzzy_scatter_ratio_loss,
        default_weight=1.0,
        min_series=2,  # a scatter needs two series
        score=fuzzy_objective,
        description=(
            "the fuzzy c-means objective divided by the total scatter of the "
            "same features, ``mean_i ||r_i - mean(r)||**2``: the encoder can "
            "then no longer lower the term by shrinking every feature towards "
            "the centres, only by tightening the clusters relative to the "
            "spread of the data (:func:`~tscc.losses.fuzzy_scatter_ratio_loss`)."
        ),
    ),
    "fcm": ClusterLoss(
        function=_fcm_term,
        default_weight=0.1,
        min_series=1,
        score=fuzzy_objective,
        description=(
            "the paper's fuzzy c-means objective, ``sum_j p_ij**m * "
            "||r_i - u_j||**2`` averaged over series "
            "(:func:`~tscc.losses.fuzzy_clustering_loss`)."
        ),
    ),
}
