"""The TSCC training loops: pretraining, K-means initialisation, fine-tuning.

The estimator calls :func:`pretrain_encoder`, :func:`initial_clusters` and
:func:`finetune_encoder` with validated series and one
:class:`~tscc.settings.TrainingSettings`; nothing here knows about
scikit-learn. One optimizer step per batch, all clusters at once, the last
partial batch included. When a ``torch.distributed`` process group is
initialised, every function here trains or clusters data-parallel over it
(see :mod:`tscc.distributed`); otherwise it runs in this process alone.
Encoding whole series lives in :mod:`tscc.encoding`, the random streams in
:mod:`tscc._seeding`.
"""

import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from ._seeding import seeded_torch, shuffle_and_crop_streams
from .augmentation import draw_crops, perturb_waveforms, take_windows
from .clustering import (
    fuzzy_center_step,
    fuzzy_memberships,
    kmeans_centers,
    squared_distances,
)
from .distributed import current_ranks
from .encoder import TSEncoder
from .encoding import encode_all_features, encode_features, observed_timestamps
from .losses import hierarchical_contrastive_loss
from .progress import PHASE_NAMES, TrainingProgress
from .series import as_float_tensor, as_series

__all__ = [
    "Budget",
    "ClusterState",
    "StepLoss",
    "Streams",
    "pretrain_encoder",
    "initial_clusters",
    "finetune_encoder",
    "update_clusters",
    "train_epoch",
    "run_epochs",
    "check_finite_losses",
    "recompute_blocks",
]


@dataclass
class Streams:
    """The random streams of a training phase.

    Parameters
    ----------
    order : numpy.random.Generator
        Shuffling, the same on every rank of a distributed fit.
    crops : numpy.random.Generator
        Random windows and crops (in one process, the same stream as
        ``order``).
    masks : torch.Generator
        Timestamp masks and waveform perturbations, on the training device.
    """

    order: object
    crops: object
    masks: torch.Generator


#: ``"auto"`` step budgets: the paper's epochs of a phase, ...
AUTO_EPOCHS = 25
#: ... up to the steps that hold this many timestamps of series in all, so
#: that the cost of a phase is bounded whatever the size of the data: 400
#: steps of 64 series of 500 samples for pretraining, 160 for fine-tuning
#: (the most the paper's 25 epochs take on the benchmark's real sets, whose
#: fits "auto" leaves as they were). Chosen by time to quality on the
#: paper-size set (docs/benchmarks.md, "Time to quality").
AUTO_STEP_VALUES = {"pretrain": 400 * 64 * 500, "finetune": 160 * 64 * 500}


@dataclass(frozen=True)
class Budget:
    """The optimizer steps of a training phase, counted out in epochs.

    A phase trains for a number of optimizer steps; they walk through
    consecutive epochs (random permutations of the training series), and the
    last epoch stops where the budget ends. An epoch count is the same budget
    expressed in whole epochs; ``"auto"`` steps are the paper's 25 epochs on
    small data and a fixed amount of computation on large data.

    Parameters
    ----------
    n_steps : int
        Optimizer steps of the phase (of each rank, in a distributed fit).
    steps_per_epoch : int
        Optimizer steps of a whole epoch.

    Examples
    --------
    >>> from tscc.training import Budget
    >>> budget = Budget(n_steps=10, steps_per_epoch=4)
    >>> budget.n_epochs, [budget.steps_in(epoch) for epoch in (1, 2, 3)]
    (3, [None, None, 2])
    """

    n_steps: int
    steps_per_epoch: int

    @classmethod
    def of_phase(cls, settings, phase, shape, ranks):
        """The budget of ``phase`` ("pretrain" or "finetune") on series of ``shape``.

        ``settings.<phase>_epochs`` whole epochs when set, else
        ``settings.<phase>_steps`` steps; ``"auto"`` steps are
        :data:`AUTO_EPOCHS` epochs, at most the steps that hold the phase's
        :data:`AUTO_STEP_VALUES` timestamps of series.

        Parameters
        ----------
        settings : TrainingSettings
        phase : {"pretrain", "finetune"}
        shape : tuple of int
            ``(n_series, n_timestamps, ...)`` of the training series.
        ranks : Ranks

        Returns
        -------
        budget : Budget
        """
        n_series, n_timestamps = shape[0], shape[1]
        share = ranks.batch_share(settings.batch_size)
        steps_per_epoch = math.ceil(ranks.share_length(n_series) / share)
        epochs = getattr(settings, f"{phase}_epochs")
        if epochs is not None:
            return cls(epochs * steps_per_epoch, steps_per_epoch)
        steps = getattr(settings, f"{phase}_steps")
        if steps == "auto":
            if settings.max_train_length is not None:
                n_timestamps = min(n_timestamps, settings.max_train_length)
            values = AUTO_STEP_VALUES[phase]
            cap = math.ceil(values / (share * ranks.size * n_timestamps))
            steps = min(AUTO_EPOCHS * steps_per_epoch, cap)
        return cls(steps, steps_per_epoch)

    @property
    def n_epochs(self):
        """Epochs the steps walk through, the last one maybe partial."""
        return math.ceil(self.n_steps / self.steps_per_epoch)

    def steps_in(self, epoch):
        """Steps of one-based ``epoch``: None for a whole epoch, else its share."""
        left = self.n_steps - (epoch - 1) * self.steps_per_epoch
        return None if left >= self.steps_per_epoch else left


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


# Bytes a pass holds for backward per block, series, timestamp and hidden
# channel (the block's input, both GELUs' inputs and both convolutions'
# inputs, 8 in bfloat16, with the allocator's overhead seen in resident
# memory), and the most a pass may hold before its blocks are recomputed in
# the backward pass instead: a laptop's share of memory, above the largest
# step at the paper's size (two crops of 64 series of 500 samples), which
# so never pays for recomputation.
_ACTIVATION_BYTES_PER_VALUE = 22
_ACTIVATION_BUDGET = 2**30


def recompute_blocks(encoder, shapes):
    """Switch the encoder's block recomputation on when a step would keep too much.

    Parameters
    ----------
    encoder : TSEncoder
    shapes : list of tuple
        ``(series, timestamps, channels)`` of the passes with gradients that
        one step makes through the encoder.

    Returns
    -------
    recompute : bool
        Whether the step's activations would exceed the budget, and so the
        blocks recompute them in the backward pass (no change in results).
    """
    values = sum(shape[0] * shape[1] for shape in shapes)
    hidden = encoder.input_fc.out_features
    kept = values * hidden * len(encoder.blocks) * _ACTIVATION_BYTES_PER_VALUE
    encoder.recompute_blocks = kept > _ACTIVATION_BUDGET
    return encoder.recompute_blocks


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
    settings : TrainingSettings
        Gives ``temporal_unit``, ``augment`` and, for the clustering term,
        ``m``, ``cluster_loss`` and ``cluster_fraction``.
    """

    def __init__(self, encoder, settings):
        super().__init__()
        self.encoder = encoder
        self.settings = settings

    def forward(self, batch, plan, generator, centers=None):
        """Contrastive loss of two crops and, with ``centers``, the clustering term.

        Parameters
        ----------
        batch : torch.Tensor of shape (batch, T, C)
            Series of the step; NaN marks missing timestamps.
        plan : CropPlan
            The two overlapping crops of each series
            (:func:`~tscc.augmentation.draw_crops`).
        generator : torch.Generator
            Timestamp-mask (and perturbation) randomness.
        centers : torch.Tensor of shape (n_clusters, repr_dims), default=None
            Fixed centres; ``None`` computes no clustering term.

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
        if self.settings.augment == "waveform":
            view1 = perturb_waveforms(view1, generator)
            view2 = perturb_waveforms(view2, generator)
        recompute_blocks(self.encoder, [view1.shape, view2.shape])
        z1 = self.encoder(view1, mask="random", generator=generator)
        z2 = self.encoder(view2, mask="random", generator=generator)
        overlap = plan.overlap_length
        contrastive = hierarchical_contrastive_loss(
            z1[:, -overlap:], z2[:, :overlap], temporal_unit=self.settings.temporal_unit
        )
        cluster = torch.zeros((), device=batch.device)
        if centers is None:
            return contrastive, cluster
        return contrastive, self._cluster_term(batch, centers, cluster)

    def _cluster_term(self, batch, centers, zero):
        """The clustering term over the batch's first series (the batch is shuffled).

        The term is a mean over them, so ``cluster_fraction`` below one gives
        an unbiased, noisier estimate of the batch's clustering gradient at a
        fraction of the cost of this extra pass through the encoder.
        """
        settings = self.settings
        term = settings.cluster_term
        n_cluster = max(
            term.min_series, math.ceil(settings.cluster_fraction * len(batch))
        )
        subset = batch[:n_cluster]
        if len(subset) < term.min_series:
            return zero
        recompute_blocks(self.encoder, [subset.shape])
        features = self.encoder.pool(self.encoder(subset), observed_timestamps(subset))
        sq_distances = squared_distances(features, centers)
        memberships = fuzzy_memberships(sq_distances.detach(), settings.m)
        return term.function(features, sq_distances, memberships, settings.m)


def train_epoch(
    model,
    optimizer,
    series,
    settings,
    streams,
    centers=None,
    progress=None,
    ranks=None,
    max_steps=None,
):
    """Run one epoch of contrastive (and, with ``centers``, clustering) training.

    Parameters
    ----------
    model : StepLoss or DistributedDataParallel
        The step's losses around the encoder, which is trained in place (see
        :meth:`tscc.distributed.Ranks.wrap`).
    optimizer : torch.optim.Optimizer
        Optimizer over the encoder's parameters.
    series : series of shape (n_series, T, C)
        Training series (:func:`~tscc.series.as_series`: a float32 tensor on
        the CPU or on the training device, or series read batch by batch);
        NaN marks missing timestamps.
    settings : TrainingSettings
        Batch size, crops, device and, with ``centers``, ``cluster_weight``.
    streams : Streams
        Shuffling, cropping and mask randomness.
    centers : torch.Tensor of shape (n_clusters, repr_dims), default=None
        Fixed cluster centres; ``None`` trains on the contrastive loss only.
    progress : TrainingProgress, default=None
        Told of every optimizer step.
    ranks : Ranks, default=None
        The processes training together (:func:`~tscc.distributed.current_ranks`
        when None): each takes its share of the epoch's permutation, and they
        agree at every step whether to go on.
    max_steps : int, default=None
        Stop after this many optimizer steps, before the end of the epoch's
        permutation (the last epoch of a step budget); ``None`` runs it all.

    Returns
    -------
    losses : dict
        Mean ``contrastive`` and ``cluster`` loss per series over the epoch
        (over all ranks), the optimizer ``steps`` it took and its wall time
        ``seconds``.
    """
    start_time = time.perf_counter()
    series = as_series(series)
    ranks = current_ranks() if ranks is None else ranks
    device = settings.torch_device
    model.train()
    order = ranks.epoch_share(torch.as_tensor(streams.order.permutation(len(series))))
    batch_size = ranks.batch_share(settings.batch_size)
    if max_steps is not None:
        order = order[: max_steps * batch_size]
    totals = torch.zeros(2, dtype=torch.float64, device=device)
    for start in range(0, len(order), batch_size):
        batch = as_float_tensor(series.take(order[start : start + batch_size]))
        batch = pad_to_length(batch.to(device, non_blocking=True), settings.min_overlap)
        batch = _random_window(batch, settings.max_train_length, streams.crops)
        plan = draw_crops(
            batch.shape[0], batch.shape[1], settings.min_overlap, streams.crops
        )
        contrastive, cluster = model(batch, plan, streams.masks, centers=centers)
        loss = contrastive
        if centers is not None:
            loss = loss + settings.cluster_weight * cluster
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        ranks.check_step(loss, device)
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
        "steps": math.ceil(len(order) / batch_size),
        "seconds": time.perf_counter() - start_time,
    }


def pretrain_encoder(series, settings, progress=None):
    """Build an encoder and pretrain it with the contrastive loss alone.

    A pure function of its arguments (``progress`` aside), so that its result
    can be cached with :class:`joblib.Memory`
    (:meth:`~tscc.settings.TrainingSettings.pretraining_key`).

    Parameters
    ----------
    series : series of shape (n_series, T, C)
        A :class:`~tscc.series.ChunkedSeries`, :class:`~tscc.series.TensorSeries`,
        tensor or array (:func:`~tscc.series.as_series`).
        Validated training series (an array is converted to a float32
        tensor); NaN marks missing timestamps.
    settings : TrainingSettings
        The encoder, ``pretrain_epochs``, ``lr``, batches, crops, device and
        seeds.
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
    series = as_series(series)
    device = settings.torch_device
    seeds = settings.seeds
    progress = TrainingProgress(0) if progress is None else progress
    ranks = current_ranks()
    # a distributed fit starts every rank from rank 0's weights (see wrap)
    phase_seeds = (seeds.pretrain_torch, seeds.pretrain_crop)
    with _phase_streams(*phase_seeds, settings, ranks) as streams:
        encoder = TSEncoder(**settings.encoder_kwargs).to(device)
        model, optimizer = _trainer(encoder, settings, settings.lr, ranks)
        budget = Budget.of_phase(settings, "pretrain", series.shape, ranks)

        def run_epoch(epoch):
            return train_epoch(
                model,
                optimizer,
                series,
                settings,
                streams,
                progress=progress,
                ranks=ranks,
                max_steps=budget.steps_in(epoch),
            )

        with progress.phase("pretrain", budget.n_steps), ranks.deferred_interrupt():
            history, completed = run_epochs(
                "pretrain", budget.n_epochs, run_epoch, encoder, progress
            )
    state = {name: t.detach().cpu() for name, t in encoder.state_dict().items()}
    return state, history, completed


def initial_clusters(encoder, series, settings):
    """Features of all series under ``encoder`` and their K-means centres.

    In a distributed fit the features are encoded in blocks over the ranks
    (:func:`~tscc.encoding.encode_all_features`), K-means runs on rank 0 and
    its centres are broadcast, so that every rank starts fine-tuning from the
    same centres.

    Parameters
    ----------
    encoder : TSEncoder
    series : series of shape (n_series, T, C)
        A :class:`~tscc.series.ChunkedSeries`, :class:`~tscc.series.TensorSeries`,
        tensor or array (:func:`~tscc.series.as_series`).
    settings : TrainingSettings
        ``n_clusters``, ``n_init``, the K-means seed, batch size and device.

    Returns
    -------
    features : torch.Tensor of shape (n_series, repr_dims)
        On the training device.
    centers : torch.Tensor of shape (n_clusters, repr_dims)
        float32, on the training device.
    """
    device = settings.torch_device
    features = encode_all_features(encoder, series, settings.batch_size, device)
    centers = current_ranks().kmeans_centers(
        features,
        lambda all_features: kmeans_centers(
            all_features, settings.n_clusters, settings.n_init, settings.seeds.kmeans
        ),
        settings.n_clusters,
        device,
    )
    return features, centers


def finetune_encoder(encoder, series, features, centers, settings, progress=None):
    """Fine-tune an encoder and its cluster centres jointly.

    Each epoch trains the encoder on the contrastive loss plus the clustering
    term against fixed centres; every ``settings.center_update_interval``
    epochs, and once more at the end, the centres are recomputed over all
    series (:func:`update_clusters`). With ``settings.tol`` above 0, training
    stops once an update changes fewer labels than that share.

    Parameters
    ----------
    encoder : TSEncoder
        The pretrained encoder, on the training device; trained in place.
    series : series of shape (n_series, T, C)
        A :class:`~tscc.series.ChunkedSeries`, :class:`~tscc.series.TensorSeries`,
        tensor or array (:func:`~tscc.series.as_series`).
        Training series; NaN marks missing timestamps.
    features : torch.Tensor of shape (n_series, repr_dims)
        Features of ``series`` under the pretrained encoder.
    centers : torch.Tensor of shape (n_clusters, repr_dims)
        Initial centres (K-means on ``features``), on the training device.
    settings : TrainingSettings
        ``finetune_epochs``, ``finetune_lr``, the clustering settings,
        batches, crops, device and seeds.
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
    series = as_series(series)
    seeds = settings.seeds
    progress = TrainingProgress(0) if progress is None else progress
    ranks = current_ranks()
    # each rank keeps the features of its own block of series
    clusters = ClusterState(centers, features[ranks.shard(len(series))])
    budget = Budget.of_phase(settings, "finetune", series.shape, ranks)
    epochs = budget.n_epochs
    phase_seeds = (seeds.finetune_torch, seeds.finetune_crop)
    with _phase_streams(*phase_seeds, settings, ranks) as streams:
        model, optimizer = _trainer(encoder, settings, settings.finetune_lr, ranks)

        def run_epoch(epoch):
            nonlocal clusters
            losses = train_epoch(
                model,
                optimizer,
                series,
                settings,
                streams,
                centers=clusters.centers,
                progress=progress,
                ranks=ranks,
                max_steps=budget.steps_in(epoch),
            )
            if epoch % settings.center_update_interval == 0 and epoch < epochs:
                clusters = update_clusters(
                    encoder, series, clusters, settings, progress
                )
                if clusters.converged:
                    progress.message(
                        f"fine-tuning converged: fewer than tol={settings.tol} "
                        "of the labels changed"
                    )
            return losses

        with progress.phase("finetune", budget.n_steps), ranks.deferred_interrupt():
            history, completed = run_epochs(
                "finetune",
                epochs,
                run_epoch,
                encoder,
                progress,
                should_stop=lambda: clusters.converged,
            )
    clusters = update_clusters(encoder, series, clusters, settings, progress)
    if ranks.distributed:
        clusters = ClusterState(
            clusters.centers, ranks.gather_rows(clusters.features, len(series))
        )
    return clusters, history, completed


def update_clusters(encoder, series, clusters, settings, progress=None):
    """One fuzzy c-means centre step over the features of all series.

    Parameters
    ----------
    encoder : TSEncoder
        The encoder being fine-tuned.
    series : ChunkedSeries or TensorSeries of shape (n_series, T, C)
        All training series.
    clusters : ClusterState
        The clustering before the update (in a distributed fit, of this
        rank's block of series, :meth:`~tscc.distributed.Ranks.shard`).
    settings : TrainingSettings
        Gives the fuzzifier ``m``, ``tol``, the batch size and device.
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
    block = series.subset(ranks.shard(len(series))) if ranks.distributed else series
    features = encode_features(
        encoder, block, settings.batch_size, settings.torch_device
    )
    centers, reseeded = fuzzy_center_step(features, clusters.centers, settings.m, ranks)
    if reseeded.numel():
        progress.message(f"re-seeded empty clusters {reseeded.tolist()}")
    # clone outside inference mode: the centres enter autograd graphs
    updated = ClusterState(centers.clone(), features)
    n_changed = ranks.sum((updated.labels != clusters.labels).sum().double())
    changed = (n_changed / len(series)).item()
    updated.converged = changed < settings.tol
    progress.message(f"centre update: {changed:.1%} of the labels changed")
    return updated


@contextmanager
def _phase_streams(torch_seed, crop_seed, settings, ranks):
    """The :class:`Streams` of a phase; torch's global RNG is seeded inside."""
    order_rng, crop_rng = shuffle_and_crop_streams(crop_seed, ranks)
    device = settings.torch_device
    with seeded_torch(ranks.stream_seed(torch_seed), device) as generator:
        yield Streams(order_rng, crop_rng, generator)


def _trainer(encoder, settings, lr, ranks):
    """The step's losses (wrapped for gradient averaging) and their optimizer."""
    model = ranks.wrap(StepLoss(encoder, settings), settings.torch_device)
    return model, torch.optim.AdamW(encoder.parameters(), lr=lr)


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


def copy_state(module):
    """Detached copy of a module's weights, to roll back to."""
    return {name: t.detach().clone() for name, t in module.state_dict().items()}


def pad_to_length(series, length):
    """NaN-pad series at the end so that crops of ``length`` fit."""
    missing = length - series.shape[1]
    if missing <= 0:
        return series
    padding = series.new_full((series.shape[0], missing, series.shape[2]), float("nan"))
    return torch.cat([series, padding], dim=1)


def _random_window(batch, max_length, rng):
    if max_length is None or batch.shape[1] <= max_length:
        return batch
    start = int(rng.integers(batch.shape[1] - max_length + 1))
    return batch[:, start : start + max_length]
