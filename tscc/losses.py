"""Contrastive and fuzzy clustering losses.

Every function is pure: it takes tensors and returns a scalar tensor that
gradients flow through. Shapes are given as ``B x T x C`` (batch, timestamps,
representation channels).
"""

import torch
import torch.nn.functional as F

__all__ = [
    "instance_contrastive_loss",
    "temporal_contrastive_loss",
    "hierarchical_contrastive_loss",
    "fuzzy_clustering_loss",
]


def _paired_contrastive_loss(z1, z2):
    """InfoNCE over the middle axis of two aligned views.

    ``z1[g, i]`` and ``z2[g, i]`` are a positive pair; every other row of both
    views in the same group ``g`` is a negative. Returns the mean loss over
    groups and both directions.
    """
    n = z1.shape[1]
    z = torch.cat([z1, z2], dim=1)  # G x 2N x C
    sim = torch.matmul(z, z.transpose(1, 2))  # G x 2N x 2N
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))  # a row is not its own negative
    # -log softmax at the positive = logsumexp(row) - positive similarity; the
    # positive of row i is row n + i and vice versa, both equal to z1_i . z2_i,
    # so no gather over the 2N x 2N matrix is needed.
    positive = (z1 * z2).sum(dim=-1)  # G x N
    return torch.logsumexp(sim, dim=-1).mean() - positive.mean()


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
