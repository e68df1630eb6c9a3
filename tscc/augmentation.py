"""Views of a series for contrastive training.

TS2Vec random cropping (two overlapping views of each series) and, as an
option, waveform perturbations of each view (polarity and gain).
"""

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "CropPlan",
    "draw_crops",
    "take_windows",
    "perturb_waveforms",
    "AUGMENTATIONS",
]

# Names accepted by the ``augment`` setting of training.
AUGMENTATIONS = ("waveform",)

# Range of the random gain of the waveform perturbation.
_GAIN_RANGE = (0.5, 2.0)


@dataclass(frozen=True)
class CropPlan:
    """Where the two views of a batch are cut.

    View 1 covers ``[offsets + left_start, offsets + overlap_end)`` and view 2
    ``[offsets + overlap_start, offsets + right_end)``; both share the overlap
    ``[offsets + overlap_start, offsets + overlap_end)``, which is the last
    ``overlap_length`` timestamps of view 1 and the first of view 2.
    """

    offsets: np.ndarray  # per-series shift, shape (B,)
    left_start: int
    overlap_start: int
    overlap_end: int
    right_end: int

    @property
    def overlap_length(self):
        """Number of timestamps both views share."""
        return self.overlap_end - self.overlap_start


def draw_crops(n_series, n_timestamps, min_overlap, rng):
    """Draw a TS2Vec crop plan for a batch.

    Parameters
    ----------
    n_series : int
        Number of series in the batch.
    n_timestamps : int
        Length of the series; must be at least ``min_overlap``.
    min_overlap : int
        Smallest overlap length, ``2 ** (temporal_unit + 1)``.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    plan : CropPlan

    Examples
    --------
    >>> import numpy as np
    >>> from tscc.augmentation import draw_crops
    >>> plan = draw_crops(3, 20, 2, np.random.default_rng(0))
    >>> 2 <= plan.overlap_length <= 20
    True
    """
    if n_timestamps < min_overlap:
        raise ValueError(
            f"Series of length {n_timestamps} are shorter than the minimal "
            f"overlap {min_overlap}."
        )
    overlap_length = int(rng.integers(min_overlap, n_timestamps + 1))
    overlap_start = int(rng.integers(n_timestamps - overlap_length + 1))
    overlap_end = overlap_start + overlap_length
    left_start = int(rng.integers(overlap_start + 1))
    right_end = int(rng.integers(overlap_end, n_timestamps + 1))
    # shift each series so that both views stay inside [0, n_timestamps)
    offsets = rng.integers(-left_start, n_timestamps - right_end + 1, size=n_series)
    return CropPlan(offsets, left_start, overlap_start, overlap_end, right_end)


def take_windows(x, starts, length):
    """Gather one window of ``length`` timestamps per series.

    Parameters
    ----------
    x : torch.Tensor of shape (B, T, C)
        Batch of series.
    starts : array-like of int, shape (B,)
        First timestamp of each window; windows must lie inside ``[0, T)``.
    length : int
        Window length.

    Returns
    -------
    windows : torch.Tensor of shape (B, length, C)
        A new tensor; ``x`` is not modified.
    """
    starts = torch.as_tensor(starts, device=x.device)
    index = starts[:, None] + torch.arange(length, device=x.device)  # B x L
    rows = torch.arange(x.shape[0], device=x.device)[:, None]
    return x[rows, index]


def perturb_waveforms(views, generator):
    """Flip and scale each series of a batch, independently.

    Each series is multiplied by a random sign and a random gain
    (log-uniform between 1/2 and 2). Applied to the two views of contrastive
    training, it asks the encoder for representations that do not depend on
    polarity or amplitude, which differ between recordings of one kind of
    source (focal mechanism, azimuth, distance) but do not tell kinds of
    source apart.

    Parameters
    ----------
    views : torch.Tensor of shape (B, T, C)
        Batch of series; NaN marks missing timestamps and stays NaN.
    generator : torch.Generator
        Source of randomness, on the device of ``views``.

    Returns
    -------
    perturbed : torch.Tensor of shape (B, T, C)
        A new tensor; ``views`` is not modified.

    Examples
    --------
    >>> import torch
    >>> from tscc.augmentation import perturb_waveforms
    >>> x = torch.sin(torch.linspace(0, 20, 100)).reshape(1, 100, 1).repeat(4, 1, 1)
    >>> y = perturb_waveforms(x, torch.Generator().manual_seed(0))
    >>> factors = (y / x)[:, 10, 0]
    >>> bool(((factors.abs() >= 0.5) & (factors.abs() <= 2)).all())
    True
    """
    shape = (views.shape[0], 1, 1)
    sign = torch.randint(0, 2, shape, generator=generator, device=views.device)
    log_gain = torch.empty(shape, device=views.device, dtype=views.dtype).uniform_(
        math.log(_GAIN_RANGE[0]), math.log(_GAIN_RANGE[1]), generator=generator
    )
    return views * ((sign.to(views.dtype) * 2 - 1) * log_gain.exp())
