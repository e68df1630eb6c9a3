"""Training and encoding loops for the TSCC encoder.

The estimator calls these with validated tensors; nothing here knows about
scikit-learn. One optimizer step per batch, all clusters at once, the last
partial batch included.
"""

import math
import time
import warnings
from contextlib import contextmanager

import numpy as np
import torch

from .augmentation import draw_crops, take_windows
from .clustering import fuzzy_memberships, squared_distances
from .encoder import TSEncoder
from .losses import (
    fuzzy_clustering_loss,
    fuzzy_scatter_ratio_loss,
    hierarchical_contrastive_loss,
)

__all__ = [
    "EpochConfig",
    "train_epoch",
    "run_epochs",
    "seeded_torch",
    "pretrain_encoder",
    "encode_features",
    "max_pool_observed",
]

PHASE_NAMES = {"pretrain": "pretraining", "finetune": "fine-tuning"}


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
    cluster_fraction=1.0,
    cluster_loss="fcm",
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
    cluster_fraction : float, default=1.0
        Share of each batch (its first series, the batch being shuffled) whose
        whole series are encoded again for the clustering term. The loss is a
        mean over those series, so a fraction below one gives an unbiased,
        noisier estimate of the batch's clustering gradient at a fraction of
        the cost of that extra pass.
    cluster_loss : {"fcm", "fcm_ratio"}, default="fcm"
        ``"fcm"`` is the fuzzy c-means objective
        (:func:`~tscc.losses.fuzzy_clustering_loss`); ``"fcm_ratio"`` divides
        it by the total scatter of the same features
        (:func:`~tscc.losses.fuzzy_scatter_ratio_loss`), which needs two
        series: at least two of each batch enter the term, and a batch of a
        single series trains on the contrastive loss alone.

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
            ratio = cluster_loss == "fcm_ratio"
            min_series = 2 if ratio else 1  # a scatter needs two series
            n_cluster = max(min_series, math.ceil(cluster_fraction * len(batch)))
            subset = batch[:n_cluster]
            if len(subset) >= min_series:
                features = max_pool_observed(encoder(subset), _observed(subset))
                sq_distances = squared_distances(features, centers)
                memberships = fuzzy_memberships(sq_distances.detach(), m)
                if ratio:
                    cluster = fuzzy_scatter_ratio_loss(
                        features, sq_distances, memberships, m
                    )
                else:
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


def copy_state(module):
    """Detached copy of a module's weights, to roll back to."""
    return {name: t.detach().clone() for name, t in module.state_dict().items()}


def run_epochs(phase, n_epochs, run_epoch, encoder, record, should_stop=None):
    """Run ``run_epoch(1..n_epochs)``, checking and recording every epoch.

    Ctrl-C stops training: the encoder goes back to its weights at the end of
    the last completed epoch, a warning says so, and False is returned so that
    the caller finishes with what it has.

    Parameters
    ----------
    phase : {"pretrain", "finetune"}
        Name of the phase, for messages and records.
    n_epochs : int
        Number of epochs to run.
    run_epoch : callable
        ``run_epoch(epoch) -> losses`` trains one epoch (see :func:`train_epoch`).
    encoder : torch.nn.Module
        The module being trained; restored on interruption.
    record : callable
        ``record(phase, epoch, n_epochs, losses)`` after each completed epoch.
    should_stop : callable, default=None
        ``should_stop() -> bool`` checked after each epoch, for early stopping.

    Returns
    -------
    completed : bool
        False if training was interrupted.
    """
    snapshot = copy_state(encoder)
    name = PHASE_NAMES[phase]
    for epoch in range(1, n_epochs + 1):
        try:
            losses = run_epoch(epoch)
        except KeyboardInterrupt:
            encoder.load_state_dict(snapshot)
            warnings.warn(
                f"fit was interrupted during {name} epoch {epoch}/{n_epochs}; "
                f"the model keeps the weights of epoch {epoch - 1} and skips "
                "the remaining training.",
                UserWarning,
                stacklevel=2,
            )
            return False
        check_finite_losses(losses, name, epoch)
        record(phase, epoch, n_epochs, losses)
        if should_stop is not None and should_stop():
            break
        snapshot = copy_state(encoder)
    return True


@contextmanager
def seeded_torch(seed, device):
    """Seed torch for a training phase and restore the caller's RNG state after.

    Weight initialisation and dropout draw from torch's global generators, so
    they are forked and seeded; grad mode is enabled inside. Yields a
    ``torch.Generator`` on ``device`` seeded with ``seed``, for the masks.

    Parameters
    ----------
    seed : int
        Seed of the phase.
    device : torch.device
        Training device.

    Yields
    ------
    generator : torch.Generator
    """
    cuda_devices = [device.index] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices), torch.enable_grad():
        torch.random.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield torch.Generator(device=device).manual_seed(seed)


def pretrain_encoder(
    X,
    encoder_kwargs,
    *,
    epochs,
    batch_size,
    lr,
    temporal_unit,
    max_train_length,
    device,
    torch_seed,
    crop_seed,
    verbose=0,
):
    """Build an encoder and pretrain it with the contrastive loss alone.

    A pure function of its arguments (``verbose`` aside), so that its result
    can be cached with :class:`joblib.Memory`.

    Parameters
    ----------
    X : ndarray of shape (n_series, n_timestamps, n_channels)
        Validated training series; NaN marks missing timestamps.
    encoder_kwargs : dict
        Arguments of :class:`~tscc.encoder.TSEncoder`.
    epochs, batch_size, lr, temporal_unit, max_train_length
        As in :class:`~tscc.TSCCClusterer`.
    device : str
        Training device.
    torch_seed, crop_seed : int
        Seeds of weight initialisation, masks and dropout, and of shuffling
        and crops.
    verbose : int, default=0
        Print one line per epoch when positive.

    Returns
    -------
    state : dict of str to torch.Tensor
        The pretrained weights, on the CPU.
    history : list of dict
        One record per completed epoch.
    completed : bool
        False if pretraining was interrupted with Ctrl-C.
    """
    device = torch.device(device)
    config = EpochConfig(batch_size, temporal_unit, max_train_length, device)
    series = pad_to_length(torch.tensor(X, dtype=torch.float32), config.min_overlap)
    rng = np.random.default_rng(crop_seed)
    history = []
    with seeded_torch(torch_seed, device) as generator:
        encoder = TSEncoder(**encoder_kwargs).to(device)
        optimizer = torch.optim.AdamW(encoder.parameters(), lr=lr)

        def run_epoch(epoch):
            return train_epoch(encoder, optimizer, series, config, rng, generator)

        def record(phase, epoch, n_epochs, losses):
            history.append({"phase": phase, "epoch": epoch, **losses})
            log_epoch(verbose, phase, epoch, n_epochs, losses)

        completed = run_epochs("pretrain", epochs, run_epoch, encoder, record)
    state = {name: t.detach().cpu() for name, t in encoder.state_dict().items()}
    return state, history, completed


def log_epoch(verbose, phase, epoch, n_epochs, losses):
    """Print one progress line for an epoch when ``verbose`` is positive."""
    if not verbose:
        return
    message = (
        f"{phase} epoch {epoch}/{n_epochs}: contrastive={losses['contrastive']:.4f}"
    )
    if phase == "finetune":
        message += f" cluster={losses['cluster']:.4f}"
    print(f"[TSCC] {message} ({losses['seconds']:.1f}s)", flush=True)


def pad_to_length(series, length):
    """NaN-pad series at the end so that crops of ``length`` fit."""
    missing = length - series.shape[1]
    if missing <= 0:
        return series
    padding = series.new_full((series.shape[0], missing, series.shape[2]), float("nan"))
    return torch.cat([series, padding], dim=1)


def receptive_depth(n_timestamps):
    """Fewest hidden blocks whose encoder's receptive field covers a series.

    Block ``i`` holds two kernel-3 convolutions of dilation ``2**i``, and the
    encoder has ``depth + 1`` blocks (the hidden ones and the output block), so
    it sees ``1 + 4 * (2**(depth + 1) - 1)`` timestamps; more blocks add no
    context, only layers applied to each timestamp on its own.

    Parameters
    ----------
    n_timestamps : int
        Length of the series.

    Returns
    -------
    depth : int
        At least 0 (the output block alone).

    Examples
    --------
    >>> from tscc.training import receptive_depth
    >>> receptive_depth(500), receptive_depth(150), receptive_depth(1)
    (6, 5, 0)
    """
    depth = 0
    while 1 + 4 * (2 ** (depth + 1) - 1) < n_timestamps:
        depth += 1
    return depth
