"""The TSCC clustering estimator."""

import hashlib
import textwrap
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_memory

from ._validation import (
    check_series,
    resolve_device,
    resolve_precision,
    restore_device,
)
from .augmentation import AUGMENTATIONS
from .clustering import fuzzy_memberships, squared_distances
from .distributed import Ranks, current_ranks, rank_device
from .encoder import rebuild_encoder, receptive_depth
from .encoding import (
    encode_features,
    encoded_blocks,
    feature_labels,
    feature_memberships,
)
from .heap import release_free_memory
from .losses import CLUSTER_LOSSES
from .persistence import load_model, save_model, upgrade_state
from .progress import TrainingProgress
from .series import SAMPLE_IN_MEMORY_BYTES, TensorSeries
from .settings import TrainingSettings, min_crop_overlap
from .training import Budget, finetune_encoder, initial_clusters, pretrain_encoder

__all__ = ["TSCCClusterer"]


def _pretrain_series(data_key, settings_key, *, series, settings, progress=None):
    """:func:`~tscc.training.pretrain_encoder`, cached by its two keys.

    ``memory.cache`` ignores ``series``, ``settings`` and ``progress``:
    ``data_key`` (a digest of the validated training series and the sample)
    stands for the series and ``settings_key``
    (:meth:`~tscc.settings.TrainingSettings.pretraining_key`) for the
    settings pretraining depends on.
    """
    return pretrain_encoder(series, settings, progress=progress)


def _digest_rows(rows):
    return hashlib.blake2b(rows.astype(np.int64).tobytes(), digest_size=20).hexdigest()


class TSCCClusterer(
    ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator
):
    """Time Series Contrastive Clustering (TSCC).

    A TS2Vec-style dilated convolutional encoder is pretrained with a
    hierarchical contrastive loss on random overlapping crops; K-means on the
    max-pooled representations initialises the cluster centres; encoder and
    centres are then fine-tuned jointly with a fuzzy c-means clustering loss.
    Clusters are assigned to the nearest centre in the learned feature space.

    Parameters
    ----------
    n_clusters : int, default=2
        Number of clusters.
    repr_dims : int, default=32
        Size of the learned representation ``R`` of each series.
    hidden_dims : int, default=64
        Channels of the hidden convolutional blocks.
    depth : int or "auto", default=10
        Number of hidden residual dilated-convolution blocks (dilations 1, 2,
        4, ...); an output block follows them, as in the paper and TS2Vec, so
        the encoder has ``depth + 1`` blocks. ``"auto"`` takes the fewest
        blocks whose receptive field, ``1 + 4 * (2**(depth + 1) - 1)``
        timestamps, covers the training series (6 for 500 timestamps). Deeper
        blocks add no context, only per-timestamp capacity: ``"auto"`` is
        faster, at some cost in quality on short series.
    pretrain_steps : int or "auto", default="auto"
        Optimizer steps of contrastive pretraining. The steps walk through
        random permutations of the training series (epochs), the last one
        cut where the budget ends. ``"auto"`` is the paper's 25 epochs on
        small data and at most the steps that hold 12.8 million timestamps of
        series (400 steps of 64 series of 500 samples) on large data, so that
        the cost of the phase is bounded whatever the number and length of
        the series, as in scikit-learn's ``IsolationForest(max_samples="auto")``.
    finetune_steps : int or "auto", default="auto"
        Optimizer steps of joint contrastive and clustering fine-tuning, as
        ``pretrain_steps``, with ``"auto"`` capped at 5.12 million timestamps
        of series (160 steps of 64 series of 500 samples); 0 gives
        "pretraining + K-means".
    pretrain_epochs : int or None, default=None
        Pretrain for this many epochs (passes over the training series)
        instead of ``pretrain_steps``, a budget that grows with the data.
        The paper's schedule is ``pretrain_epochs=25, finetune_epochs=25``
        with ``batch_size=64`` and ``depth=10``.
    finetune_epochs : int or None, default=None
        Fine-tune for this many epochs instead of ``finetune_steps``; 0
        gives "pretraining + K-means".
    batch_size : int, default=64
        Series per optimizer step and per encoding batch; need not divide the
        number of series, and may exceed it. In a distributed fit it is the
        global batch: each of W processes takes ``batch_size / W`` series a
        step (rounded up, with a warning, when W does not divide it), so the
        number of processes changes the speed, not what is learned.
    lr : float, default=1e-3
        AdamW learning rate of pretraining.
    finetune_lr : float, default=1e-4
        AdamW learning rate of fine-tuning.
    m : float, default=1.5
        Fuzzifier of the fuzzy memberships, > 1; closer to 1 is harder.
    cluster_weight : float or "auto", default="auto"
        Weight of the clustering loss during fine-tuning. ``"auto"`` takes
        the default weight of ``cluster_loss``: {cluster_weights}.
    cluster_loss : {cluster_loss_names}, default="fcm_ratio"
        Clustering term of fine-tuning (the table
        :data:`tscc.losses.CLUSTER_LOSSES` lists them):

        {cluster_loss_items}
        The benchmarks page of the documentation compares them.
    cluster_fraction : float in (0, 1], default=0.5
        Share of each fine-tuning batch whose whole series are encoded again
        (mask off) for the clustering loss. The loss is a mean over them, so the
        gradient is an unbiased estimate of the whole batch's at a fraction
        of the cost of the extra pass; 1.0 uses every series of every batch.
    feature_norm : {None, "l2"}, default=None
        Scaling of the series features R wherever TSCC clusters them: K-means
        initialisation, the clustering term and centre steps of fine-tuning,
        ``transform``, ``predict`` and the other predictions. ``None`` keeps the
        max-pooled representation, as in the paper. ``"l2"`` scales each
        feature vector to unit length, so that clusters are told apart by the
        direction of R, not its size. Pretraining is the same with either, and
        is shared through ``memory``.
    pooling : {"max", "mean"}, default="max"
        How the encoder's per-timestamp representations become the series
        features R, wherever TSCC clusters them (as ``feature_norm``):
        ``"max"`` takes their maximum over time, as in the paper; ``"mean"``
        their mean over the observed timestamps, which keeps how much of a
        window is active, e.g. event windows against noise windows after
        max-abs normalisation, where the maximum is about the same for both.
        Pretraining is the same with either, and is shared through
        ``memory``.
    augment : {None, "waveform"}, default=None
        Perturbation of the two crops that contrastive training compares, in
        pretraining and fine-tuning. ``None`` uses the crops and timestamp
        masks alone, as in the paper. ``"waveform"`` also multiplies each crop
        by a random sign and a random gain
        (:func:`~tscc.augmentation.perturb_waveforms`), so that R does not
        depend on polarity or amplitude; worth setting for seismic
        waveforms, whose polarity and amplitude tell focal mechanism and
        distance rather than the kind of source. The benchmarks page of the
        documentation measures it.
    center_update_interval : int, default=2
        The centres are recomputed over all series every this many fine-tuning
        epochs, and once more at the end.
    tol : float in [0, 1], default=0.0
        Fine-tuning stops early when, at a centre update, fewer than this share
        of the labels changed since the previous update. 0 never stops early.
    temporal_unit : int, default=0
        Smallest max-pooling scale of the temporal contrastive term; the crops
        overlap by at least ``2 ** (temporal_unit + 1)`` timestamps.
    max_train_length : int or None, default=3000
        During training, series longer than this are cut to a random window of
        this length per batch, which bounds memory. ``None`` never cuts.
    n_init : int, default=10
        K-means restarts of the centre initialisation.
    max_samples : int, float or None, default=None
        Train (pretraining, K-means initialisation, fine-tuning) on a random
        sample of the series, drawn with ``random_state``: this many series
        for an int, this share of them for a float in (0, 1]. ``labels_`` (and
        ``fit_transform``) still cover every series, encoded once more after
        training a block at a time (``fit`` keeps only the labels, never the
        features of all series). ``None`` trains on all series. A sample
        bounds the cost and memory of training on a large archive.
    memory : str, joblib.Memory or None, default=None
        Caches the pretrained encoder, keyed by the data and every parameter
        that pretraining depends on (architecture, pretraining epochs, batch
        size, lr, temporal_unit, max_train_length, device, precision,
        random_state, max_samples). A ``GridSearchCV`` over ``n_clusters``, ``m``,
        ``cluster_weight`` or the fine-tuning parameters then pretrains once
        per fold, not once per candidate. A string is a cache directory.
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Arithmetic of the encoder's layers in training and encoding.
        ``"bfloat16"`` runs them under mixed precision (weights, losses and
        features stay float32): faster on hardware with bfloat16 matrix
        units (the speed page of the documentation has the numbers), with
        the same clustering quality in the benchmarks. ``"auto"`` picks it on
        such hardware (CUDA GPUs of compute capability 8.0 and up, CPUs with
        AVX-512 BF16 or AMX) and ``"float32"`` elsewhere; ask for
        ``"float32"`` to get the same numbers on every CPU. On a CPU without
        those instructions, ``"bfloat16"`` is emulated and slower.
    random_state : int, RandomState instance or None, default=None
        Seeds weights, crops, masks, dropout, shuffling and K-means. An int
        gives identical results from run to run on the CPU.
    verbose : int, default=0
        ``0`` is silent. ``1`` shows a progress bar over the optimizer steps of
        each training phase, with the running losses and the time left (needs
        tqdm: ``pip install "tscc[progress]"``; without it, one line per
        epoch). ``2`` prints one line per epoch with its losses instead.
        ``history_`` keeps every epoch's numbers either way.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Cluster of each training series.
    cluster_centers_ : ndarray of shape (n_clusters, repr_dims)
        Centres in the learned feature space.
    encoder_ : torch.nn.Module
        The fitted encoder, on ``device_``, in evaluation mode.
    encoder_kwargs_ : dict
        Arguments of :class:`~tscc.encoder.TSEncoder` the encoder was built
        with (what :func:`~tscc.encoder.rebuild_encoder` needs).
    depth_ : int
        Number of hidden encoder blocks used (``depth``, or its resolution of
        "auto"); the encoder has one block more.
    n_iter_ : int
        Fine-tuning epochs run, the last one maybe partial (fewer than the
        budget's after an early stop by ``tol`` or an interruption).
    history_ : list of dict
        One entry per epoch (pass over the training series; the last of a
        phase is cut where its step budget ends): ``phase`` ("pretrain" or
        "finetune"), ``epoch``, ``contrastive`` and ``cluster`` (mean losses),
        ``steps`` (optimizer steps) and ``seconds``.
    device_ : str
        Device the encoder lives on.
    precision_ : str
        Precision used, ``"float32"`` or ``"bfloat16"`` (``precision`` with
        "auto" resolved for the training device).
    max_samples_ : int
        Number of series trained on (all of them without ``max_samples``).
    n_features_in_ : int
        Number of timestamps of the training series.
    n_channels_in_ : int
        Number of channels of the training series.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    sklearn.cluster.KMeans : K-means on raw features.

    Notes
    -----
    Input is ``(n_samples, n_timestamps)`` for univariate series or
    ``(n_samples, n_timestamps, n_channels)``. NaN marks a missing timestamp;
    variable-length series are NaN-padded at the end. The method follows
    Yue et al. (TS2Vec, AAAI 2022) for the encoder and loss, and the TSCC paper
    for the clustering stage. ``fit`` never looks at ``y``.

    Every method also takes series that do not fit in memory: a NumPy memory
    map (``np.load(path, mmap_mode="r")``) or a chunked array (Zarr, HDF5,
    Dask), read a block of rows at a time, so that memory is bounded by the
    block and batch sizes and the ``n x repr_dims`` features, not by the
    input. Results are identical, bit for bit, to those of the same series in
    memory. A training sample (``max_samples``) of such an array is read into
    memory once, in the array's order (each chunk once), when it takes at
    most :data:`~tscc.series.SAMPLE_IN_MEMORY_BYTES` (1 GiB) as float32;
    otherwise training reads each batch from the array in random order: fast
    from a memory map, slow from compressed chunks. :mod:`tscc.dask` predicts
    over a Dask cluster.

    When a ``torch.distributed`` process group is initialised (``torchrun``,
    ``tscc fit --nproc``), ``fit`` trains data-parallel over it: each process
    trains on its share of every epoch with ``batch_size / W`` series per
    step (W processes: the steps and batches of a single process), gradients
    are averaged, the K-means initialisation and centre updates run
    over all series, and every process ends with the same model
    (:mod:`tscc.distributed`). ``memory`` cannot be used then.

    Interrupting ``fit`` with Ctrl-C (``KeyboardInterrupt``) during a training
    epoch does not lose the work done: the encoder goes back to its weights at
    the end of the last completed epoch, the remaining epochs are skipped with a
    ``UserWarning``, and ``fit`` finishes (centres, labels) with that encoder.
    A non-finite loss stops ``fit`` with a ``FloatingPointError`` naming the
    phase and epoch. Clusters left empty by a centre update are re-seeded on the
    worst-fitted series; if the final labels use fewer than ``n_clusters``
    clusters, a ``ConvergenceWarning`` says so.

    Save fitted models with :meth:`save` and :meth:`load`, which store
    parameters as JSON and weights as tensors and run no code on loading.
    Pickle and joblib work too, but loading such a file can execute arbitrary
    code: only load pickles you trust.

    Examples
    --------
    >>> import numpy as np
    >>> from tscc import TSCCClusterer
    >>> rng = np.random.default_rng(0)
    >>> t = np.linspace(0, 1, 32)
    >>> sines = np.sin(2 * np.pi * 2 * t) + 0.1 * rng.normal(size=(20, 32))
    >>> squares = np.sign(np.sin(2 * np.pi * 6 * t)) + 0.1 * rng.normal(size=(20, 32))
    >>> X = np.vstack([sines, squares])
    >>> clusterer = TSCCClusterer(n_clusters=2, depth=2, hidden_dims=16,
    ...                           pretrain_epochs=2, finetune_epochs=2,
    ...                           device="cpu", random_state=0).fit(X)
    >>> clusterer.labels_.shape
    (40,)
    >>> clusterer.transform(X).shape
    (40, 32)
    >>> clusterer.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    """

    _parameter_constraints = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "repr_dims": [Interval(Integral, 1, None, closed="left")],
        "hidden_dims": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "pretrain_steps": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "finetune_steps": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left"), None],
        "finetune_epochs": [Interval(Integral, 0, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "finetune_lr": [Interval(Real, 0, None, closed="neither")],
        "m": [Interval(Real, 1, None, closed="neither")],
        "cluster_weight": [
            Interval(Real, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "cluster_loss": [StrOptions(set(CLUSTER_LOSSES))],
        "cluster_fraction": [Interval(Real, 0, 1, closed="right")],
        "feature_norm": [StrOptions({"l2"}), None],
        "pooling": [StrOptions({"max", "mean"})],
        "augment": [StrOptions(set(AUGMENTATIONS)), None],
        "tol": [Interval(Real, 0, 1, closed="both")],
        "center_update_interval": [Interval(Integral, 1, None, closed="left")],
        "temporal_unit": [Interval(Integral, 0, 30, closed="both")],
        "max_train_length": [Interval(Integral, 2, None, closed="left"), None],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
            None,
        ],
        "memory": [None, str, HasMethods(["cache"])],
        "device": [StrOptions({"auto"}), str, torch.device],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_clusters=2,
        *,
        repr_dims=32,
        hidden_dims=64,
        depth=10,
        pretrain_steps="auto",
        finetune_steps="auto",
        pretrain_epochs=None,
        finetune_epochs=None,
        batch_size=64,
        lr=1e-3,
        finetune_lr=1e-4,
        m=1.5,
        cluster_weight="auto",
        cluster_loss="fcm_ratio",
        cluster_fraction=0.5,
        feature_norm=None,
        pooling="max",
        augment=None,
        center_update_interval=2,
        tol=0.0,
        temporal_unit=0,
        max_train_length=3000,
        n_init=10,
        max_samples=None,
        memory=None,
        device="auto",
        precision="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.repr_dims = repr_dims
        self.hidden_dims = hidden_dims
        self.depth = depth
        self.pretrain_steps = pretrain_steps
        self.finetune_steps = finetune_steps
        self.pretrain_epochs = pretrain_epochs
        self.finetune_epochs = finetune_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.finetune_lr = finetune_lr
        self.m = m
        self.cluster_weight = cluster_weight
        self.cluster_loss = cluster_loss
        self.cluster_fraction = cluster_fraction
        self.feature_norm = feature_norm
        self.pooling = pooling
        self.augment = augment
        self.center_update_interval = center_update_interval
        self.tol = tol
        self.temporal_unit = temporal_unit
        self.max_train_length = max_train_length
        self.n_init = n_init
        self.max_samples = max_samples
        self.memory = memory
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pretrain the encoder, initialise the centres and fine-tune both.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps) or \
                (n_samples, n_timestamps, n_channels)
            Training series; NaN marks missing timestamps.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : TSCCClusterer
            The fitted estimator.
        """
        self._fit(X, keep_features=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit and return the learned features of the training series.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps) or \
                (n_samples, n_timestamps, n_channels)
            Training series; NaN marks missing timestamps.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        features : ndarray of shape (n_samples, repr_dims)
            Same as ``fit(X).transform(X)``, without encoding twice.
        """
        features, dtype = self._fit(X, keep_features=True)
        return features.numpy().astype(dtype, copy=False)

    def _fit(self, X, keep_features):
        """Fit on ``X``; return the features of every series and X's dtype.

        The features are a float32 tensor on the CPU, or None when a fit on a
        sample does not need them (``keep_features`` False).
        """
        memory = check_memory(self.memory)
        ranks = current_ranks()
        device = rank_device(resolve_device(self.device), ranks)
        # every rank meets the same conditions: one copy of each warning
        with ranks.lead_warnings():
            self._check_distributed(ranks, memory, device)
            X, digest = self._check_training_series(X, memory)
            settings = self._training_settings(X, device)
            # the ranks of a distributed fit report through rank 0 alone
            progress = TrainingProgress(self.verbose if ranks.rank == 0 else 0)
            train_rows = self._sample_rows(len(X), settings.seeds.sample)
            series = self._training_series(X, train_rows, progress, ranks)
            weights, self.history_, completed = self._pretrain(
                series, settings, memory, (digest, train_rows), progress
            )
            encoder = rebuild_encoder(settings.encoder_kwargs, weights, device)
            progress.message(f"K-means initialisation of {self.n_clusters} centres")
            features, centers = initial_clusters(encoder, series, settings)
            self.n_iter_ = 0
            if completed and settings.trains("finetune"):
                clusters, history, _ = finetune_encoder(
                    encoder, series, features, centers, settings, progress
                )
                features, centers = clusters.features, clusters.centers
                self.history_ += history
                self.n_iter_ = len(history)
            del series
            self.encoder_ = encoder.eval()
            self.device_ = str(device)
            self.cluster_centers_ = centers.double().cpu().numpy()
            if train_rows is not None:
                progress.message(f"encoding all {len(X)} series")
                # unless fit_transform returns them, the features of all series
                # are never held at once: labels are assigned block by block
                features = (
                    encode_features(encoder, X, self.batch_size, device)
                    if keep_features
                    else None
                )
            if features is None:
                self.labels_ = self._encoded_labels(X)
            else:
                features = features.cpu()
                self.labels_ = feature_labels(features, self.cluster_centers_, self.m)
            self._warn_if_collapsed()
            # Training frees gigabytes in fragments that glibc keeps; hand them
            # back once, as fit returns (no setting changes: an action, not a mode).
            release_free_memory()
            return features, X.dtype

    def _training_settings(self, X, device):
        """The fit's :class:`~tscc.settings.TrainingSettings`; sets what it resolves."""
        self.precision_ = resolve_precision(self.precision, device)
        self.depth_ = (
            receptive_depth(X.shape[1]) if self.depth == "auto" else self.depth
        )
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        settings = TrainingSettings.from_estimator(
            self,
            n_channels=X.shape[2],
            depth=self.depth_,
            precision=self.precision_,
            device=str(device),
            seed=seed,
        )
        self.encoder_kwargs_ = settings.encoder_kwargs
        return settings

    @staticmethod
    def _check_distributed(ranks, memory, device):
        """Refuse what a distributed fit cannot do, before any work."""
        if not ranks.distributed:
            return
        if memory.location is not None:
            raise ValueError(
                "memory cannot cache the pretraining of a distributed fit (ranks "
                "that found the cache and ranks that did not would wait for "
                "each other); set memory=None, or fit in a single process."
            )
        backend = torch.distributed.get_backend()
        if backend == "nccl" and device.type != "cuda":
            raise ValueError(
                "the process group uses the NCCL backend, which needs "
                "device='cuda'; use the gloo backend to train on CPUs."
            )

    def _check_training_series(self, X, memory):
        """Validated training series and their digest when ``memory`` caches."""
        X, digest = check_series(
            self,
            X,
            reset=True,
            min_samples=2,
            batch_size=self.batch_size,
            fingerprint=memory.location is not None,
        )
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}."
            )
        min_overlap = min_crop_overlap(self.temporal_unit)
        if self.max_train_length is not None and self.max_train_length < min_overlap:
            raise ValueError(
                f"max_train_length={self.max_train_length} is shorter than the "
                f"minimal crop overlap 2 ** (temporal_unit + 1) = {min_overlap}."
            )
        return X, digest

    def _sample_rows(self, n_samples, seed):
        """Sorted rows of the training sample, or None to train on all series."""
        if self.max_samples is None:
            self.max_samples_ = n_samples
            return None
        if isinstance(self.max_samples, Integral):
            size = int(self.max_samples)
            if size > n_samples:
                warnings.warn(
                    f"max_samples={size} is larger than the {n_samples} series: "
                    "training on all of them.",
                    UserWarning,
                    stacklevel=4,
                )
        else:
            size = int(self.max_samples * n_samples)
        size = min(size, n_samples)
        if size < max(2, self.n_clusters):
            raise ValueError(
                f"max_samples={self.max_samples} leaves {size} of the {n_samples} "
                f"series for training; at least max(2, n_clusters="
                f"{self.n_clusters}) are needed."
            )
        self.max_samples_ = size
        if size == n_samples:
            return None
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(n_samples, size=size, replace=False))

    def _training_series(self, X, rows, progress, ranks):
        """Training series: a float32 tensor in memory, else read per batch.

        A sample (``rows``) of a lazy array is read into memory once when it
        is small enough, in the array's order so that each chunk is read
        once, rather than a random batch of chunks at every step.
        """
        sample_fits = (
            rows is not None
            and 4 * len(rows) * X.shape[1] * X.shape[2] <= SAMPLE_IN_MEMORY_BYTES
        )
        if X.lazy and not sample_fits:
            series = X if rows is None else X.subset(rows)
        else:
            if X.lazy:
                progress.message(
                    f"reading the {len(rows)} training series into memory, "
                    "chunk by chunk"
                )
                values = X.subset(rows).values()  # sorted rows: each chunk once
            else:
                values = X.values() if rows is None else X.values()[rows]
            series = TensorSeries(torch.tensor(values, dtype=torch.float32))
            del values
        if rows is not None:
            progress.message(f"training on {len(series)} of {len(X)} series")
        if len(series) < ranks.size:
            raise ValueError(
                f"{len(series)} training series cannot be shared out over "
                f"{ranks.size} processes; use fewer processes or more series."
            )
        if ranks.distributed:
            share = ranks.batch_share(self.batch_size)
            progress.message(
                f"training data-parallel over {ranks.size} processes, "
                f"{share} series per process and {share * ranks.size} per step"
            )
            note = ranks.batch_note(self.batch_size)
            if note is not None:
                warnings.warn(note, UserWarning, stacklevel=4)
        return series

    @staticmethod
    def _pretrain(series, settings, memory, data, progress):
        """Pretrained weights, history and completion, from ``memory`` if cached.

        ``data`` is the digest taken while validating and the rows of the
        training sample (or None): a large array or memory map is read once
        per fit, not hashed again.
        """
        pretrain = memory.cache(
            _pretrain_series, ignore=["series", "settings", "progress"]
        )
        digest, rows = data
        key = (digest, None if rows is None else _digest_rows(rows))
        settings_key = settings.pretraining_key()
        auto = settings.pretrain_epochs is None and settings.pretrain_steps == "auto"
        if memory.location is not None and auto:
            # what "auto" means is the library's rule, which changes between
            # versions: key the steps it takes, not the word (a cached fit is
            # never distributed, so the steps are those of one process)
            budget = Budget.of_phase(settings, "pretrain", series.shape, Ranks())
            settings_key["pretrain_steps"] = budget.n_steps
        if memory.location is not None and pretrain.check_call_in_cache(
            key, settings_key, series=None, settings=None
        ):
            progress.message(f"pretrained encoder loaded from {memory.location}")
        shelved = pretrain.call_and_shelve(
            key, settings_key, series=series, settings=settings, progress=progress
        )
        weights, history, completed = shelved.get()
        if not completed:
            shelved.clear()  # never cache an interrupted pretraining
        return weights, list(history), completed

    def _warn_if_collapsed(self):
        n_found = np.unique(self.labels_).size
        if n_found < self.n_clusters:
            warnings.warn(
                f"Only {n_found} of n_clusters={self.n_clusters} clusters hold any "
                "series: the learned features do not separate the data into that "
                "many groups. Check the scaling of the series, or try fewer "
                "clusters, more epochs or a larger m.",
                ConvergenceWarning,
                stacklevel=3,
            )

    # ---------------------------------------------------------------- inference

    def transform(self, X):
        """Encode series into the pooled learned features ``R``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps) or \
                (n_samples, n_timestamps, n_channels)
            Series of the same length and channel count as in ``fit``.

        Returns
        -------
        features : ndarray of shape (n_samples, repr_dims)
            float32 for float32 input, float64 otherwise.
        """
        features, dtype = self._features(X)
        return features.numpy().astype(dtype, copy=False)

    def predict_proba(self, X):
        """Fuzzy memberships of each series in each cluster.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps) or \
                (n_samples, n_timestamps, n_channels)
            Series of the same length and channel count as in ``fit``.

        Returns
        -------
        memberships : ndarray of shape (n_samples, n_clusters)
            Non-negative, each row sums to one.
        """
        X = self._prediction_series(X)
        memberships = np.empty((len(X), len(self.cluster_centers_)))
        for start, features in self._encoded_blocks(X):
            memberships[start : start + len(features)] = feature_memberships(
                features, self.cluster_centers_, self.m
            )
        return memberships

    def predict(self, X):
        """Assign each series to the cluster of highest membership.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps) or \
                (n_samples, n_timestamps, n_channels)
            Series of the same length and channel count as in ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
            Index of the nearest cluster centre.
        """
        return self._encoded_labels(self._prediction_series(X))

    def score(self, X, y=None):
        """Negative fuzzy clustering objective of ``X`` (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps) or \
                (n_samples, n_timestamps, n_channels)
            Series of the same length and channel count as in ``fit``.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            ``-sum_i sum_j p_ij**m ||r_i - u_j||**2``, the analogue of
            :class:`~sklearn.cluster.KMeans`' negative inertia. Only comparable
            between models sharing one feature space.
        """
        X = self._prediction_series(X)
        centers = torch.as_tensor(self.cluster_centers_)
        objective = CLUSTER_LOSSES[self.cluster_loss].score
        total = 0.0
        for _, features in self._encoded_blocks(X):
            sq_distances = squared_distances(features.double(), centers)
            memberships = fuzzy_memberships(sq_distances, self.m)
            total += float(objective(sq_distances, memberships, self.m))
        return -total

    def _prediction_series(self, X):
        """``X`` validated against the fitted model, as a ChunkedSeries."""
        check_is_fitted(self)
        X, _ = check_series(self, X, reset=False, batch_size=self.batch_size)
        return X

    def _features(self, X):
        """Features (float32 tensor on the CPU) of ``X``, and the dtype to return."""
        X = self._prediction_series(X)
        device = torch.device(self.device_)
        features = encode_features(self.encoder_, X, self.batch_size, device)
        return features.cpu(), X.dtype

    def _encoded_blocks(self, series):
        """Features (float32, on the CPU) of validated series, block by block."""
        device = torch.device(self.device_)
        for start, features in encoded_blocks(
            self.encoder_, series, self.batch_size, device
        ):
            yield start, features.cpu()

    def _encoded_labels(self, series):
        """Labels of validated series, encoded and assigned block by block."""
        labels = np.empty(len(series), dtype=np.int64)
        for start, features in self._encoded_blocks(series):
            labels[start : start + len(features)] = feature_labels(
                features, self.cluster_centers_, self.m
            )
        return labels

    # ------------------------------------------------------------- persistence

    def save(self, path):
        """Save the fitted model to one file that loads without running code.

        Parameters are stored as JSON and weights as tensors (see
        :func:`tscc.persistence.save_model`). Prefer this to pickle/joblib for
        files that others will load: unpickling a file can execute any code.

        Parameters
        ----------
        path : str or path-like
            File to write, e.g. ``"model.tscc"``.

        Returns
        -------
        self : TSCCClusterer
            The estimator, unchanged.
        """
        save_model(self, path)
        return self

    @classmethod
    def load(cls, path, device=None):
        """Load a model written by :meth:`save`, executing no code from the file.

        Parameters
        ----------
        path : str or path-like
            File written by :meth:`save`.
        device : str, default=None
            Device for the encoder; ``None`` uses the device it was fitted on
            when available, else the CPU.

        Returns
        -------
        estimator : TSCCClusterer
            The fitted estimator.
        """
        return load_model(path, cls, device=device)

    def __getstate__(self):
        # copy: object.__getstate__ may hand back the live __dict__ itself
        state = dict(super().__getstate__())
        encoder = state.pop("encoder_", None)
        if encoder is not None:
            # CPU tensors, so that a GPU-fitted model unpickles without CUDA
            state["_encoder_state"] = {
                name: tensor.detach().cpu()
                for name, tensor in encoder.state_dict().items()
            }
        return state

    def __setstate__(self, state):
        state = upgrade_state(state)
        encoder_state = state.pop("_encoder_state", None)
        super().__setstate__(state)
        if encoder_state is None:
            return
        device = restore_device(self.device_)
        self.encoder_ = rebuild_encoder(self.encoder_kwargs_, encoder_state, device)
        self.device_ = str(device)

    @property
    def _n_features_out(self):
        return self.repr_dims

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _describe_cluster_losses(doc):
    """The class docstring with the clustering terms of :data:`CLUSTER_LOSSES`."""
    indent = " " * 8
    items = []
    for name, term in CLUSTER_LOSSES.items():
        text = f'- ``"{name}"``: {term.description}'
        items.append(
            textwrap.fill(
                text, 88, initial_indent=indent, subsequent_indent=indent + "  "
            )
        )
    weights = ", ".join(
        f'{term.default_weight} with ``"{name}"``'
        for name, term in CLUSTER_LOSSES.items()
    )
    names = "{" + ", ".join(f'"{name}"' for name in CLUSTER_LOSSES) + "}"
    return (
        doc.replace("        {cluster_loss_items}", "\n".join(items) + "\n")
        .replace("{cluster_weights}", weights)
        .replace("{cluster_loss_names}", names)
    )


TSCCClusterer.__doc__ = _describe_cluster_losses(TSCCClusterer.__doc__)
