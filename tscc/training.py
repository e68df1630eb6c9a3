"""The TSCC training pipeline: pretraining, fine-tuning and batched encoding.

The estimator calls :func:`pretrain_encoder`, :func:`initial_clusters` and
:func:`finetune_encoder` with validated series; nothing here knows about
scikit-learn. One optimizer step per batch, all clusters at once, the last
partial batch included. When a ``torch.distributed`` process group is
initialised, every function here trains or clusters data-parallel over it
(see :mod:`tscc.distributed`); otherwise it runs in this process alone.
"""

import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .augmentation import draw_crops, perturb_waveforms, take_windows
from .clustering import fuzzy_memberships, kmeans_centers, squared_distances
from .distributed import current_ranks
from .encoder import TSEncoder, max_pool_observed
from .losses import (
    fuzzy_clustering_loss,
    fuzzy_scatter_ratio_loss,
    hierarchical_contrastive_loss,
)
from .progress import PHASE_NAMES, TrainingProgress
from .series import ChunkedSeries, block_rows

__all__ = [
    "EpochConfig",
    "FinetuneSettings",
    "ClusterState",
    "StepLoss",
    "pretrain_encoder",
    "initial_clusters",
    "finetune_encoder",
    "update_clusters",
    "train_epoch",
    "run_epochs",
    "seeded_torch",
    "encode_features",
    "encode_all_features",
    "encoded_blocks",
    "gather_rows",
    "max_pool_observed",
]


@dataclass(frozen=True)
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
    augment : {None, "waveform"}, default=None
        Perturbation of the two views of contrastive training
        (:func:`~tscc.augmentation.perturb_waveforms` for ``"waveform"``).
    """

    batch_size: int
    temporal_unit: int
    max_train_length: int | None
    device: torch.device
    augment: str | None = None

    @property
    def min_overlap(self):
        """Smallest overlap of the two crops, ``2 ** (temporal_unit + 1)``."""
        return 2 ** (self.temporal_unit + 1)

    def steps(self, n_series):
        """Optimizer steps of an epoch over ``n_series`` series."""
        return math.ceil(n_series / self.batch_size)


@dataclass(frozen=True)
class FinetuneSettings:
    """Settings of joint fine-tuning (see :class:`~tscc.TSCCClusterer`).

    Parameters
    ----------
    epochs : int
        Epochs to run at most.
    lr : float
        AdamW learning rate.
    m : float
        Fuzzifier of the memberships, > 1.
    cluster_loss : {"fcm_ratio", "fcm"}
        Clustering term (see :func:`train_epoch`).
    cluster_weight : float
        Weight of the clustering term.
    cluster_fraction : float
        Share of each batch encoded again for the clustering term.
    center_update_interval : int
        Epochs between two centre updates over all series.
    tol : float
        Stop when fewer than this share of the labels changed at an update.
    """

    epochs: int
    lr: float
    m: float
    cluster_loss: str
    cluster_weight: float
    cluster_fraction: float
    center_update_interval: int
    tol: float


@dataclass
class ClusterState:
    """The clustering of fine-tuning, as of its last centre update.

    Parameters
    ----------
    centers : torch.Tensor of shape (n_clusters, repr_dims)
        Cluster centres, on the training device.
    features : torch.Tensor of shape (n_series, repr_dims)
        Features of every series the centres were computed from.
    converged : bool, default=False
        Whether the last update changed fewer labels than ``tol``.

    Attributes
    ----------
    labels : torch.Tensor of shape (n_series,)
        Nearest centre of each series, computed from the two above.
    """

    centers: torch.Tensor
    features: torch.Tensor
    labels: torch.Tensor = field(init=False)
    converged: bool = False

    def __post_init__(self):
        self.labels = squared_distances(self.features, self.centers).argmin(dim=1)


def _observed(batch):
    return ~torch.isnan(batch).any(dim=-1)


class StepLoss(nn.Module):
    """The losses of one training step, from one call of this module.

    :class:`~torch.nn.parallel.DistributedDataParallel` averages the gradients
    of one forward call, so every pass through the encoder that a step makes
    (the two crops, and the whole series of the clustering term) happens
    inside one :meth:`forward`.

    Parameters
    ----------
    encoder : TSEncoder
        The encoder being trained.
    """

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(
        self,
        batch,
        plan,
        temporal_unit,
        generator,
        centers=None,
        m=None,
        cluster_loss="fcm",
        cluster_fraction=1.0,
        augment=None,
    ):
        """Contrastive loss of two crops and, with ``centers``, the clustering term.

        Parameters
        ----------
        batch : torch.Tensor of shape (batch, T, C)
            Series of the step; NaN marks missing timestamps.
        plan : CropPlan
            The two overlapping crops of each series
            (:func:`~tscc.augmentation.draw_crops`).
        temporal_unit : int
            Smallest scale of the temporal contrastive term.
        generator : torch.Generator
            Timestamp-mask (and perturbation) randomness.
        centers : torch.Tensor of shape (n_clusters, repr_dims), default=None
            Fixed centres; ``None`` computes no clustering term.
        m, cluster_loss, cluster_fraction
            As in :func:`train_epoch`.
        augment : {None, "waveform"}, default=None
            ``"waveform"`` perturbs each crop on its own
            (:func:`~tscc.augmentation.perturb_waveforms`); the clustering
            term sees the series as they are.

        Returns
        -------
        contrastive : torch.Tensor
            Scalar.
        cluster : torch.Tensor
            Scalar; zero without ``centers`` or when too few series enter it.
        """
        view1 = take_windows(
            batch, plan.offsets + plan.left_start, plan.overlap_end - plan.left_start
        )
        view2 = take_windows(
            batch,
            plan.offsets + plan.overlap_start,
            plan.right_end - plan.overlap_start,
        )
        if augment == "waveform":
            view1 = perturb_waveforms(view1, generator)
            view2 = perturb_waveforms(view2, generator)
        z1 = self.encoder(view1, mask="random", generator=generator)
        z2 = self.encoder(view2, mask="random", generator=generator)
        overlap = plan.overlap_length
        contrastive = hierarchical_contrastive_loss(
            z1[:, -overlap:], z2[:, :overlap], temporal_unit=temporal_unit
        )
        cluster = torch.zeros((), device=batch.device)
        if centers is None:
            return contrastive, cluster
        ratio = cluster_loss == "fcm_ratio"
        min_series = 2 if ratio else 1  # a scatter needs two series
        n_cluster = max(min_series, math.ceil(cluster_fraction * len(batch)))
        subset = batch[:n_cluster]
        if len(subset) < min_series:
            return contrastive, cluster
        features = self.encoder.pool(self.encoder(subset), _observed(subset))
        sq_distances = squared_distances(features, centers)
        memberships = fuzzy_memberships(sq_distances.detach(), m)
        if ratio:
            cluster = fuzzy_scatter_ratio_loss(features, sq_distances, memberships, m)
        else:
            cluster = fuzzy_clustering_loss(sq_distances, memberships, m)
        return contrastive, cluster


def _random_window(batch, max_length, rng):
    if max_length is None or batch.shape[1] <= max_length:
        return batch
    start = int(rng.integers(batch.shape[1] - max_length + 1))
    return batch[:, start : start + max_length]


def train_epoch(
    model,
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
    progress=None,
    order_rng=None,
    ranks=None,
):
    """Run one epoch of contrastive (and, with ``centers``, clustering) training.

    Parameters
    ----------
    model : StepLoss or DistributedDataParallel
        The step's losses around the encoder, which is trained in place (see
        :meth:`tscc.distributed.Ranks.wrap`).
    optimizer : torch.optim.Optimizer
        Optimizer over the encoder's parameters.
    series : torch.Tensor or ChunkedSeries of shape (n_series, T, C)
        Training series (a float32 tensor on the CPU or on ``config.device``,
        or series read batch by batch); NaN marks missing timestamps.
    config : EpochConfig
    rng : numpy.random.Generator
        Cropping randomness, and shuffling when ``order_rng`` is None.
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
    progress : TrainingProgress, default=None
        Told of every optimizer step.
    order_rng : numpy.random.Generator, default=None
        Shuffling randomness, the same on every rank of a distributed fit;
        ``None`` shuffles with ``rng``.
    ranks : Ranks, default=None
        The processes training together (:func:`~tscc.distributed.current_ranks`
        when None): each takes its share of the epoch's permutation, and they
        agree at every step whether to go on.

    Returns
    -------
    losses : dict
        Mean ``contrastive`` and ``cluster`` loss per series over the epoch
        (over all ranks), and the epoch's wall time ``seconds``.
    """
    start_time = time.perf_counter()
    ranks = current_ranks() if ranks is None else ranks
    order_rng = rng if order_rng is None else order_rng
    model.train()
    order = ranks.epoch_share(torch.as_tensor(order_rng.permutation(len(series))))
    totals = torch.zeros(2, dtype=torch.float64, device=config.device)
    for start in range(0, len(order), config.batch_size):
        batch = gather_rows(series, order[start : start + config.batch_size])
        batch = pad_to_length(
            batch.to(config.device, non_blocking=True), config.min_overlap
        )
        batch = _random_window(batch, config.max_train_length, rng)
        plan = draw_crops(batch.shape[0], batch.shape[1], config.min_overlap, rng)
        contrastive, cluster = model(
            batch,
            plan,
            config.temporal_unit,
            generator,
            centers=centers,
            m=m,
            cluster_loss=cluster_loss,
            cluster_fraction=cluster_fraction,
            augment=config.augment,
        )
        loss = contrastive
        if centers is not None:
            loss = loss + cluster_weight * cluster
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        ranks.check_step(loss, config.device)
        optimizer.step()
        # accumulate on the device: one host sync per epoch, not per batch
        totals += torch.stack([contrastive.detach(), cluster.detach()]) * len(batch)
        if progress is not None:
            progress.step(
                contrastive.detach(), None if centers is None else cluster.detach()
            )
    contrastive_mean, cluster_mean = (
        ranks.sum(totals) / (len(order) * ranks.size)
    ).tolist()
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
    series : torch.Tensor or ChunkedSeries of shape (n_series, T, C)
        Series (converted to float32); NaN marks missing timestamps. Both
        kinds are encoded one block of rows at a time (a
        :class:`~tscc.series.ChunkedSeries` is read block by block).
    batch_size : int
        Series encoded at once.
    device : torch.device

    Returns
    -------
    features : torch.Tensor of shape (n_series, repr_dims)
        On ``device``, computed under :func:`torch.inference_mode`. Each
        batch is padded to ``batch_size`` series, so a series gets the same
        features whatever else is encoded with it.
    """
    features = None
    for start, encoded in encoded_blocks(encoder, series, batch_size, device):
        if features is None:
            # filled in place, block by block: many small results kept alive
            # between the batches' large temporaries fragment the C heap
            features = encoded.new_empty((len(series), encoded.shape[1]))
        features[start : start + len(encoded)] = encoded
    return features


def encode_all_features(encoder, series, batch_size, device):
    """:func:`encode_features` of all series, shared out over the ranks.

    Each rank encodes its own block of rows and the blocks are gathered, so
    that every rank ends with the features of all series, bit for bit those
    that one process would compute.

    Parameters
    ----------
    encoder : TSEncoder
    series : torch.Tensor or ChunkedSeries of shape (n_series, T, C)
    batch_size : int
    device : torch.device

    Returns
    -------
    features : torch.Tensor of shape (n_series, repr_dims)
        On ``device``.
    """
    ranks = current_ranks()
    if not ranks.distributed:
        return encode_features(encoder, series, batch_size, device)
    block = take_block(series, ranks.shard(len(series)))
    return ranks.gather_rows(
        encode_features(encoder, block, batch_size, device), len(series)
    )


def initial_clusters(encoder, series, n_clusters, n_init, seed, batch_size, device):
    """Features of all series under ``encoder`` and their K-means centres.

    In a distributed fit the features are encoded in blocks over the ranks
    (:func:`encode_all_features`), K-means runs on rank 0 and its centres are
    broadcast, so that every rank starts fine-tuning from the same centres.

    Parameters
    ----------
    encoder : TSEncoder
    series : torch.Tensor or ChunkedSeries of shape (n_series, T, C)
    n_clusters : int
    n_init : int
        K-means restarts.
    seed : int
        Seed of the K-means initialisation.
    batch_size : int
        Series encoded at once.
    device : torch.device

    Returns
    -------
    features : torch.Tensor of shape (n_series, repr_dims)
        On ``device``.
    centers : torch.Tensor of shape (n_clusters, repr_dims)
        float32, on ``device``.
    """
    features = encode_all_features(encoder, series, batch_size, device)
    centers = current_ranks().kmeans_centers(
        features,
        lambda all_features: kmeans_centers(all_features, n_clusters, n_init, seed),
        n_clusters,
        device,
    )
    return features, centers


def take_block(series, rows):
    """Contiguous rows of a tensor or ChunkedSeries, without reading them.

    Parameters
    ----------
    series : torch.Tensor or ChunkedSeries of shape (n_series, T, C)
    rows : slice
        With ``start`` and ``stop`` set and no step (see
        :meth:`~tscc.distributed.Ranks.shard`).

    Returns
    -------
    block : torch.Tensor or ChunkedSeries of shape (stop - start, T, C)
        A view of a tensor; a ChunkedSeries that reads from the same array.
    """
    if isinstance(series, ChunkedSeries):
        return series.subset(np.arange(rows.start, rows.stop))
    return series[rows]


def encoded_blocks(encoder, series, batch_size, device):
    """Features of series one block of rows at a time, for consumers that reduce them.

    Parameters
    ----------
    encoder : TSEncoder
        Its training mode is restored after each block.
    series : torch.Tensor or ChunkedSeries of shape (n_series, T, C)
        As in :func:`encode_features`.
    batch_size : int
        Series encoded at once; blocks hold a multiple of it.
    device : torch.device

    Yields
    ------
    start : int
        Row of the block's first series.
    features : torch.Tensor of shape (rows, repr_dims)
        On ``device``; equal, bit for bit, to the same rows of
        :func:`encode_features`.
    """
    rows = block_rows(series.shape[1], series.shape[2], batch_size)
    if isinstance(series, ChunkedSeries):
        for start, block in series.blocks(rows):
            block = torch.from_numpy(block)
            yield start, _encode_block(encoder, block, batch_size, device)
    else:
        for start in range(0, series.shape[0], rows):
            block = series[start : start + rows]
            yield start, _encode_block(encoder, block, batch_size, device)


def _encode_block(encoder, series, batch_size, device):
    """Features of a block of series, encoded batch by batch."""
    if series.dtype != torch.float32:
        series = series.float()
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
            features = encoder.pool(encoder(batch), _observed(batch))
            chunks.append(features[:n_real])
    encoder.train(was_training)
    return torch.cat(chunks)


def gather_rows(series, indices):
    """Rows ``indices`` of a tensor or ChunkedSeries, as a float32 tensor.

    Parameters
    ----------
    series : torch.Tensor or ChunkedSeries of shape (n_series, T, C)
    indices : torch.Tensor of int64

    Returns
    -------
    rows : torch.Tensor of shape (len(indices), T, C)
        On the device of ``series`` (the CPU for a ChunkedSeries).
    """
    if isinstance(series, ChunkedSeries):
        return torch.from_numpy(series.take(indices.numpy())).float()
    return series[indices]


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


def run_epochs(phase, n_epochs, run_epoch, encoder, progress, should_stop=None):
    """Run ``run_epoch(1..n_epochs)``, checking and recording every epoch.

    Ctrl-C stops training: the encoder goes back to its weights at the end of
    the last completed epoch, a warning says so, and the epochs completed so
    far are returned, so that the caller finishes with what it has.

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
    progress : TrainingProgress
        Told of every completed epoch.
    should_stop : callable, default=None
        ``should_stop() -> bool`` checked after each epoch, for early stopping.

    Returns
    -------
    history : list of dict
        One record per completed epoch: ``phase``, ``epoch`` and the losses.
    completed : bool
        False if training was interrupted.
    """
    snapshot = copy_state(encoder)
    name = PHASE_NAMES[phase]
    history = []
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
            return history, False
        check_finite_losses(losses, name, epoch)
        history.append({"phase": phase, "epoch": epoch, **losses})
        progress.epoch(phase, epoch, n_epochs, losses)
        if should_stop is not None and should_stop():
            break
        snapshot = copy_state(encoder)
    return history, True


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


def _shuffle_and_crop_streams(crop_seed, ranks):
    """Shuffling stream (shared by all ranks) and cropping stream (one per rank).

    In a single process they are one stream, as they always were.
    """
    order_rng = np.random.default_rng(crop_seed)
    if not ranks.distributed:
        return order_rng, order_rng
    return order_rng, np.random.default_rng(ranks.stream_seed(crop_seed))


def pretrain_encoder(
    series,
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
    augment=None,
    progress=None,
):
    """Build an encoder and pretrain it with the contrastive loss alone.

    A pure function of its arguments (``progress`` aside), so that its result
    can be cached with :class:`joblib.Memory`.

    Parameters
    ----------
    series : ndarray, torch.Tensor or ChunkedSeries of shape (n_series, T, C)
        Validated training series (an array, converted to a float32 tensor,
        or series read batch by batch); NaN marks missing timestamps.
    encoder_kwargs : dict
        Arguments of :class:`~tscc.encoder.TSEncoder`.
    epochs, batch_size, lr, temporal_unit, max_train_length
        As in :class:`~tscc.TSCCClusterer`.
    device : str
        Training device.
    torch_seed, crop_seed : int
        Seeds of weight initialisation, masks and dropout, and of shuffling
        and crops.
    augment : {None, "waveform"}, default=None
        Perturbation of the views (see :class:`EpochConfig`).
    progress : TrainingProgress, default=None
        Reports steps and epochs; ``None`` is silent.

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
    progress = TrainingProgress(0) if progress is None else progress
    config = EpochConfig(batch_size, temporal_unit, max_train_length, device, augment)
    if isinstance(series, np.ndarray):
        series = torch.tensor(series, dtype=torch.float32)
    ranks = current_ranks()
    order_rng, rng = _shuffle_and_crop_streams(crop_seed, ranks)
    # a distributed fit starts every rank from rank 0's weights (see wrap)
    with seeded_torch(ranks.stream_seed(torch_seed), device) as generator:
        encoder = TSEncoder(**encoder_kwargs).to(device)
        model = ranks.wrap(StepLoss(encoder), device)
        optimizer = torch.optim.AdamW(encoder.parameters(), lr=lr)

        def run_epoch(epoch):
            return train_epoch(
                model,
                optimizer,
                series,
                config,
                rng,
                generator,
                progress=progress,
                order_rng=order_rng,
                ranks=ranks,
            )

        steps = config.steps(ranks.share_length(len(series)))
        with progress.phase("pretrain", epochs, steps), ranks.deferred_interrupt():
            history, completed = run_epochs(
                "pretrain", epochs, run_epoch, encoder, progress
            )
    state = {name: t.detach().cpu() for name, t in encoder.state_dict().items()}
    return state, history, completed


def finetune_encoder(
    encoder,
    series,
    features,
    centers,
    settings,
    config,
    *,
    torch_seed,
    crop_seed,
    progress=None,
):
    """Fine-tune an encoder and its cluster centres jointly.

    Each epoch trains the encoder on the contrastive loss plus the clustering
    term against fixed centres; every ``settings.center_update_interval``
    epochs, and once more at the end, the centres are recomputed over all
    series (:func:`update_clusters`). With ``settings.tol`` above 0, training
    stops once an update changes fewer labels than that share.

    Parameters
    ----------
    encoder : TSEncoder
        The pretrained encoder, on ``config.device``; trained in place.
    series : torch.Tensor or ChunkedSeries of shape (n_series, T, C)
        Training series: a float32 tensor on the CPU or ``config.device``, or
        series read batch by batch; NaN marks missing timestamps.
    features : torch.Tensor of shape (n_series, repr_dims)
        Features of ``series`` under the pretrained encoder.
    centers : torch.Tensor of shape (n_clusters, repr_dims)
        Initial centres (K-means on ``features``), on ``config.device``.
    settings : FinetuneSettings
        Epochs, learning rate and clustering settings.
    config : EpochConfig
        Batch size, crop settings and device.
    torch_seed, crop_seed : int
        Seeds of masks and dropout, and of shuffling and crops.
    progress : TrainingProgress, default=None
        Reports steps, epochs and centre updates; ``None`` is silent.

    Returns
    -------
    clusters : ClusterState
        The centres after the final update and the features of every series
        under the fine-tuned encoder.
    history : list of dict
        One record per completed epoch.
    completed : bool
        False if fine-tuning was interrupted with Ctrl-C; the encoder then has
        the weights of the last completed epoch.
    """
    progress = TrainingProgress(0) if progress is None else progress
    ranks = current_ranks()
    order_rng, rng = _shuffle_and_crop_streams(crop_seed, ranks)
    # each rank keeps the features of its own block of series
    clusters = ClusterState(centers, features[ranks.shard(len(series))])
    with seeded_torch(ranks.stream_seed(torch_seed), config.device) as generator:
        model = ranks.wrap(StepLoss(encoder), config.device)
        optimizer = torch.optim.AdamW(encoder.parameters(), lr=settings.lr)

        def run_epoch(epoch):
            nonlocal clusters
            losses = train_epoch(
                model,
                optimizer,
                series,
                config,
                rng,
                generator,
                centers=clusters.centers,
                m=settings.m,
                cluster_weight=settings.cluster_weight,
                cluster_fraction=settings.cluster_fraction,
                cluster_loss=settings.cluster_loss,
                progress=progress,
                order_rng=order_rng,
                ranks=ranks,
            )
            if epoch % settings.center_update_interval == 0 and epoch < settings.epochs:
                clusters = update_clusters(
                    encoder, series, clusters, settings, config, progress
                )
                if clusters.converged:
                    progress.message(
                        f"fine-tuning converged: fewer than tol={settings.tol} "
                        "of the labels changed"
                    )
            return losses

        steps = config.steps(ranks.share_length(len(series)))
        with (
            progress.phase("finetune", settings.epochs, steps),
            ranks.deferred_interrupt(),
        ):
            history, completed = run_epochs(
                "finetune",
                settings.epochs,
                run_epoch,
                encoder,
                progress,
                should_stop=lambda: clusters.converged,
            )
    clusters = update_clusters(encoder, series, clusters, settings, config, progress)
    if ranks.distributed:
        clusters = ClusterState(
            clusters.centers, ranks.gather_rows(clusters.features, len(series))
        )
    return clusters, history, completed


def update_clusters(encoder, series, clusters, settings, config, progress=None):
    """One fuzzy c-means centre step over the features of all series.

    Parameters
    ----------
    encoder : TSEncoder
        The encoder being fine-tuned.
    series : torch.Tensor of shape (n_series, T, C)
        All training series.
    clusters : ClusterState
        The clustering before the update (in a distributed fit, of this
        rank's block of series, :meth:`~tscc.distributed.Ranks.shard`).
    settings : FinetuneSettings
        Gives the fuzzifier ``m`` and ``tol``.
    config : EpochConfig
        Gives the batch size and device of the encoding.
    progress : TrainingProgress, default=None
        Told how many labels changed and which empty clusters were re-seeded.

    Returns
    -------
    clusters : ClusterState
        The new centres, features and labels (of this rank's block of series
        in a distributed fit); ``converged`` when fewer than ``settings.tol``
        of all labels changed.
    """
    progress = TrainingProgress(0) if progress is None else progress
    ranks = current_ranks()
    rows = ranks.shard(len(series))
    features = encode_features(
        encoder, take_block(series, rows), config.batch_size, config.device
    )
    centers, reseeded = ranks.fuzzy_center_step(features, clusters.centers, settings.m)
    if reseeded.numel():
        progress.message(f"re-seeded empty clusters {reseeded.tolist()}")
    # clone outside inference mode: the centres enter autograd graphs
    updated = ClusterState(centers.clone(), features)
    n_changed = ranks.sum((updated.labels != clusters.labels).sum().double())
    changed = (n_changed / len(series)).item()
    updated.converged = changed < settings.tol
    progress.message(f"centre update: {changed:.1%} of the labels changed")
    return updated


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
