"""Training and encoding loops for the TSCC encoder.

The estimator calls these with validated tensors; nothing here knows about
scikit-learn. One optimizer step per batch, all clusters at once, the last
partial batch included.
"""

import math
import time

import numpy as np
import torch

from .augmentation import draw_crops, take_windows
from .clustering import fuzzy_memberships, squared_distances
from .losses import fuzzy_clustering_loss, hierarchical_contrastive_loss

__all__ = ["EpochConfig", "train_epoch", "encode_features", "max_pool_observed"]


class EpochConfig:
    """Settings of a training epoch that do not change between epochs.

    Parameters
    ----------
    batch_size : int
        Series per optimizer step; the last batch may be smaller.
    temporal_unit : int
        Smallest scale of the temporal contrastive term.
    max_train_length : int or None
        Longer series are cut to a random window of this length per batch.
    device : torch.device
        Device the encoder lives on.
    """

    def __init__(self, batch_size, temporal_unit, max_train_length, device):
        self.batch_size = batch_size
        self.temporal_unit = temporal_unit
        self.max_train_length = max_train_length
        self.device = device

    @property
    def min_overlap(self):
        """Smallest overlap of the two crops, ``2 ** (temporal_unit + 1)``."""
        return 2 ** (self.temporal_unit + 1)


def max_pool_observed(z, observed):
    """Max-pool per-timestamp representations over observed timestamps.

    Parameters
    ----------
    z : torch.Tensor of shape (B, T, R)
    observed : torch.Tensor of shape (B, T), dtype bool

    Returns
    -------
    features : torch.Tensor of shape (B, R)
        A series without any observed timestamp is pooled over all of them.
    """
    masked = z.masked_fill(~observed.unsqueeze(-1), float("-inf"))
    pooled = masked.amax(dim=1)
    return torch.where(torch.isfinite(pooled), pooled, z.amax(dim=1))


def _observed(batch):
    return ~torch.isnan(batch).any(dim=-1)


def _contrastive_loss(encoder, batch, config, rng, generator):
    """Hierarchical contrastive loss of two random overlapping crops."""
    plan = draw_crops(batch.shape[0], batch.shape[1], config.min_overlap, rng)
    view1 = take_windows(
        batch, plan.offsets + plan.left_start, plan.overlap_end - plan.left_start
    )
    view2 = take_windows(
        batch, plan.offsets + plan.overlap_start, plan.right_end - plan.overlap_start
    )
    z1 = encoder(view1, mask="random", generator=generator)
    z2 = encoder(view2, mask="random", generator=generator)
    overlap = plan.overlap_length
    return hierarchical_contrastive_loss(
        z1[:, -overlap:], z2[:, :overlap], temporal_unit=config.temporal_unit
    )


def _random_window(batch, max_length, rng):
    if max_length is None or batch.shape[1] <= max_length:
        return batch
    start = int(rng.integers(batch.shape[1] - max_length + 1))
    return batch[:, start : start + max_length]


def train_epoch(
    encoder,
    optimizer,
    series,
    config,
    rng,
    generator,
    centers=None,
    m=None,
    cluster_weight=0.0,
):
    """Run one epoch of contrastive (and, with ``centers``, clustering) training.

    Parameters
    ----------
    encoder : TSEncoder
        Trained in place.
    optimizer : torch.optim.Optimizer
        Optimizer over the encoder's parameters.
    series : torch.Tensor of shape (n_series, T, C)
        Training series on the CPU or on ``config.device``; NaN marks missing.
    config : EpochConfig
    rng : numpy.random.Generator
        Shuffling and cropping randomness.
    generator : torch.Generator
        Timestamp-mask randomness, on ``config.device``.
    centers : torch.Tensor of shape (n_clusters, repr_dims), default=None
        Fixed cluster centres; ``None`` trains on the contrastive loss only.
    m : float, default=None
        Fuzzifier of the clustering term.
    cluster_weight : float, default=0.0
        Weight of the clustering term.

    Returns
    -------
    losses : dict
        Mean ``contrastive`` and ``cluster`` loss per series over the epoch,
        and the epoch's wall time ``seconds``.
    """
    start_time = time.perf_counter()
    encoder.train()
    n_series = series.shape[0]
    order = torch.as_tensor(rng.permutation(n_series))
    totals = torch.zeros(2, dtype=torch.float64, device=config.device)
    for start in range(0, n_series, config.batch_size):
        batch = series[order[start : start + config.batch_size]].to(
            config.device, non_blocking=True
        )
        batch = _random_window(batch, config.max_train_length, rng)
        contrastive = _contrastive_loss(encoder, batch, config, rng, generator)
        loss = contrastive
        cluster = torch.zeros((), device=config.device)
        if centers is not None:
            features = max_pool_observed(encoder(batch), _observed(batch))
            sq_distances = squared_distances(features, centers)
            memberships = fuzzy_memberships(sq_distances.detach(), m)
            cluster = fuzzy_clustering_loss(sq_distances, memberships, m)
            loss = loss + cluster_weight * cluster
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        # accumulate on the device: one host sync per epoch, not per batch
        totals += torch.stack([contrastive.detach(), cluster.detach()]) * len(batch)
    contrastive_mean, cluster_mean = (totals / n_series).tolist()
    return {
        "contrastive": contrastive_mean,
        "cluster": cluster_mean,
        "seconds": time.perf_counter() - start_time,
    }


def encode_features(encoder, series, batch_size, device):
    """Encode whole series with the mask off and max-pool them over time.

    Parameters
    ----------
    encoder : TSEncoder
        Its training mode is restored afterwards.
    series : torch.Tensor of shape (n_series, T, C)
        float32 series; NaN marks missing timestamps.
    batch_size : int
        Series encoded at once.
    device : torch.device

    Returns
    -------
    features : torch.Tensor of shape (n_series, repr_dims)
        On ``device``, created under :func:`torch.inference_mode`. Each
        batch is padded to ``batch_size`` series, so a series gets the same
        features whatever else is encoded with it.
    """
    was_training = encoder.training
    encoder.eval()
    chunks = []
    with torch.inference_mode():
        for start in range(0, series.shape[0], batch_size):
            batch = series[start : start + batch_size].to(device, non_blocking=True)
            n_real = batch.shape[0]
            # BLAS picks other kernels for small matrices, which changes the
            # last bits; full batches make a series' features independent of
            # which other series it is encoded with.
            batch = _pad_batch(batch, batch_size)
            features = max_pool_observed(encoder(batch), _observed(batch))
            chunks.append(features[:n_real])
    encoder.train(was_training)
    return torch.cat(chunks)


def _pad_batch(batch, batch_size):
    missing = batch_size - batch.shape[0]
    if missing <= 0:
        return batch
    filler = batch.new_zeros((missing, *batch.shape[1:]))
    return torch.cat([batch, filler])


def check_finite_losses(losses, phase, epoch):
    """Stop training with a clear error when an epoch's loss is not finite.

    Parameters
    ----------
    losses : dict
        Output of :func:`train_epoch`.
    phase : str
        ``"pretraining"`` or ``"fine-tuning"``.
    epoch : int
        One-based epoch number.

    Raises
    ------
    FloatingPointError
        If a loss is NaN or infinite.
    """
    if all(math.isfinite(losses[key]) for key in ("contrastive", "cluster")):
        return
    raise FloatingPointError(
        f"The {phase} loss became non-finite in epoch {epoch} "
        f"(contrastive={losses['contrastive']}, cluster={losses['cluster']}). "
        "Scale the series (e.g. max |x| = 1 per series) or lower the learning rate."
    )


def seed_sequence(seed, n):
    """Derive ``n`` independent integer seeds from one seed."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]
