"""The settings of one fit, in one frozen object.

:class:`TrainingSettings` is built once by the estimator from its parameters
(:meth:`TrainingSettings.from_estimator`) and passed to pretraining, the
K-means initialisation and fine-tuning. Each field is either an estimator
parameter of the same name or a value the estimator resolves while fitting
(the depth for ``depth="auto"``, the precision and device, the seed drawn
from ``random_state``). Fields that pretraining depends on are marked, and
:meth:`TrainingSettings.pretraining_key` is what caches a pretrained encoder
(``memory``): a new training setting is a parameter of the estimator and a
field here, nothing else.
"""

from dataclasses import dataclass, field, fields

import torch

from ._seeding import seed_sequence
from .losses import CLUSTER_LOSSES

__all__ = ["TrainingSettings", "PhaseSeeds", "min_crop_overlap"]


def min_crop_overlap(temporal_unit):
    """Smallest overlap of the two crops of contrastive training.

    Parameters
    ----------
    temporal_unit : int
        Smallest max-pooling scale of the temporal contrastive term.

    Returns
    -------
    length : int
        ``2 ** (temporal_unit + 1)``: the temporal term needs two timestamps
        at its smallest scale.
    """
    return 2 ** (temporal_unit + 1)


def _pretraining(default=None):
    """A field that pretraining depends on (part of the cache key)."""
    return field(default=default, metadata={"pretraining": True})


@dataclass(frozen=True)
class PhaseSeeds:
    """Seeds of the random streams of each phase of a fit.

    Each phase has its own streams, so that a cached pretraining and a fresh
    one lead to the same fine-tuning; the sample's stream comes last, so
    that fits on all series draw what they drew before sampling existed.

    Parameters
    ----------
    pretrain_torch, pretrain_crop : int
        Weights, masks and dropout; shuffling and crops of pretraining.
    kmeans : int
        K-means initialisation.
    finetune_torch, finetune_crop : int
        Masks and dropout; shuffling and crops of fine-tuning.
    sample : int
        The training sample of ``max_samples``.
    """

    pretrain_torch: int
    pretrain_crop: int
    kmeans: int
    finetune_torch: int
    finetune_crop: int
    sample: int


@dataclass(frozen=True)
class TrainingSettings:
    """Everything a fit's training phases need to know, resolved and frozen.

    The attributes are the estimator's parameters of the same name (see
    :class:`~tscc.TSCCClusterer`), except those below, which are resolved
    when fitting.

    Attributes
    ----------
    n_channels : int
        Channels of the training series (the encoder's input).
    depth : int
        Hidden blocks of the encoder (``depth="auto"`` resolved).
    precision : {"float32", "bfloat16"}
        ``precision="auto"`` resolved for the device.
    device : str
        Training device.
    seed : int
        Drawn from ``random_state``; the phases' seeds derive from it
        (:attr:`seeds`).
    cluster_weight : float
        ``cluster_weight="auto"`` resolved from :data:`~tscc.losses.CLUSTER_LOSSES`.

    Examples
    --------
    >>> from tscc import TSCCClusterer
    >>> from tscc.settings import TrainingSettings
    >>> settings = TrainingSettings.from_estimator(
    ...     TSCCClusterer(depth=3), n_channels=1, device="cpu",
    ...     precision="float32", seed=0)
    >>> settings.depth, settings.cluster_weight, settings.min_overlap
    (3, 1.0, 2)
    >>> "finetune_lr" in settings.pretraining_key()
    False
    """

    # the encoder
    n_channels: int = _pretraining()
    repr_dims: int = _pretraining()
    hidden_dims: int = _pretraining()
    depth: int = _pretraining()
    precision: str = _pretraining()
    feature_norm: str | None = None
    pooling: str = "max"
    # both phases
    batch_size: int = _pretraining()
    temporal_unit: int = _pretraining()
    max_train_length: int | None = _pretraining()
    augment: str | None = _pretraining()
    device: str = _pretraining()
    seed: int = _pretraining()
    # pretraining
    pretrain_steps: int | str = _pretraining()
    pretrain_epochs: int | None = _pretraining()
    lr: float = _pretraining()
    # K-means initialisation
    n_clusters: int = None
    n_init: int = None
    # fine-tuning
    finetune_steps: int | str = None
    finetune_epochs: int | None = None
    finetune_lr: float = None
    m: float = None
    cluster_loss: str = None
    cluster_weight: float = None
    cluster_fraction: float = None
    center_update_interval: int = None
    tol: float = None

    @classmethod
    def from_estimator(cls, estimator, **resolved):
        """Settings from an estimator's parameters and the values resolved in ``fit``.

        Parameters
        ----------
        estimator : TSCCClusterer
        **resolved
            ``n_channels``, ``device``, ``precision``, ``seed`` and, where the
            estimator's parameter needs resolving, ``depth``; they take
            precedence over the parameters of the same name.

        Returns
        -------
        settings : TrainingSettings
        """
        params = estimator.get_params()
        values = {
            f.name: resolved[f.name] if f.name in resolved else params[f.name]
            for f in fields(cls)
            if f.name in resolved or f.name in params
        }
        if values.get("cluster_weight") == "auto":
            values["cluster_weight"] = CLUSTER_LOSSES[
                values["cluster_loss"]
            ].default_weight
        values["device"] = str(values["device"])
        return cls(**values)

    @property
    def encoder_kwargs(self):
        """Arguments of :class:`~tscc.encoder.TSEncoder` for these settings."""
        return {
            "input_dims": self.n_channels,
            "repr_dims": self.repr_dims,
            "hidden_dims": self.hidden_dims,
            "depth": self.depth,
            "precision": self.precision,
            "output_block": True,
            "feature_norm": self.feature_norm,
            "pooling": self.pooling,
        }

    @property
    def seeds(self):
        """Seeds of each phase's random streams (:class:`PhaseSeeds`)."""
        return PhaseSeeds(*seed_sequence(self.seed, 6))

    @property
    def torch_device(self):
        """:attr:`device` as a :class:`torch.device`."""
        return torch.device(self.device)

    @property
    def min_overlap(self):
        """Smallest overlap of the two crops, ``2 ** (temporal_unit + 1)``."""
        return min_crop_overlap(self.temporal_unit)

    @property
    def cluster_term(self):
        """The fine-tuning clustering term (:class:`~tscc.losses.ClusterLoss`)."""
        return CLUSTER_LOSSES[self.cluster_loss]

    def trains(self, phase):
        """Whether ``phase`` ("pretrain" or "finetune") takes any step."""
        epochs = getattr(self, f"{phase}_epochs")
        budget = epochs if epochs is not None else getattr(self, f"{phase}_steps")
        return budget == "auto" or budget > 0

    def pretraining_key(self):
        """The settings pretraining depends on, as a dict: its cache key.

        Returns
        -------
        key : dict
        """
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.metadata.get("pretraining")
        }
