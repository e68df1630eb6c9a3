"""Per-waveform preprocessing: demean, detrend and normalise each series.

:class:`WaveformNormalizer` is the paper's preprocessing (demean, detrend,
scale to a peak absolute value of 1) as a stateless scikit-learn transformer,
so that it can sit in front of any clusterer in a ``Pipeline``.
"""

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import validate_data

__all__ = ["WaveformNormalizer"]


# ---------------------------------------------------------------------------
# Array functions
# ---------------------------------------------------------------------------


def _masked_mean(values, observed, count):
    """Mean over the observed timestamps, per series and channel (n x 1 x C)."""
    return np.where(observed, values, 0.0).sum(axis=1, keepdims=True) / count


def _normalize_waveforms(X, *, demean, detrend, normalize):
    """Demean, detrend and scale every channel of every series independently.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_timestamps, n_channels)
        Float series; NaN marks a missing timestamp. Not modified.
    demean, detrend : bool
        Whether to remove the mean, or the least-squares line, of the
        observed values.
    normalize : {"maxabs", "zscore"} or None
        How to scale each channel after removing the mean or trend.

    Returns
    -------
    out : ndarray of the shape and dtype of ``X``
        A new array, NaN where ``X`` is NaN.
    """
    if not (demean or detrend or normalize):
        return X.copy()
    n_timestamps = X.shape[1]
    observed = ~np.isnan(X)  # n x T x C
    n_observed = observed.sum(axis=1, keepdims=True)  # n x 1 x C
    count = np.maximum(n_observed, 1)

    # Work in float64 on series scaled to a peak of 1: sums of squares then
    # neither overflow for huge amplitudes nor lose float32 precision.
    values = np.where(observed, X, 0.0).astype(np.float64, copy=False)
    peak = np.abs(values).max(axis=1, keepdims=True, initial=0.0)
    values = values / np.where(peak > 0.0, peak, 1.0)
    # Rounding error of a sum over n terms of magnitude <= 1 is about n * eps:
    # a residual below that is what is left of a constant or a straight line,
    # not signal, and scaling it up would turn rounding noise into a waveform.
    tiny = count * np.finfo(np.float64).eps

    if demean or detrend:
        # The least-squares line includes the mean, so detrending demeans too.
        values = np.where(observed, values - _masked_mean(values, observed, count), 0.0)
    if detrend:
        times = np.arange(n_timestamps, dtype=np.float64)[np.newaxis, :, np.newaxis]
        times = np.broadcast_to(times, X.shape)
        # Centring the times over the observed timestamps decouples slope and
        # intercept, so the slope is a ratio of two sums.
        centred_times = np.where(
            observed, times - _masked_mean(times, observed, count), 0.0
        )
        time_spread = (centred_times**2).sum(axis=1, keepdims=True)
        slope = (centred_times * values).sum(axis=1, keepdims=True) / np.where(
            time_spread > 0.0, time_spread, 1.0
        )
        values = values - slope * centred_times
    if demean or detrend:
        residual_peak = np.abs(values).max(axis=1, keepdims=True, initial=0.0)
        values = np.where(residual_peak > tiny, values, 0.0)

    if normalize is None:
        values = values * peak  # undo the unit-peak scaling
    else:
        if normalize == "maxabs":
            scale = np.abs(values).max(axis=1, keepdims=True, initial=0.0)
        else:
            spread = np.where(
                observed, values - _masked_mean(values, observed, count), 0.0
            )
            scale = np.sqrt((spread**2).sum(axis=1, keepdims=True) / count)
        # A channel without spread has nothing to scale: rather than divide by
        # zero it keeps its values (zero after demeaning).
        flat = scale <= tiny
        values = values / np.where(flat, 1.0, scale)
        if not (demean or detrend):
            values = np.where(flat, values * peak, values)

    values[~observed] = np.nan
    return values.astype(X.dtype, copy=False)


# ---------------------------------------------------------------------------
# Transformer
# ---------------------------------------------------------------------------


class WaveformNormalizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Demean, detrend and normalise each waveform, channel by channel.

    Each channel of each series is processed on its own: no statistic is
    shared between series, so the transformer is stateless and ``fit`` only
    validates the input. This is the per-waveform preprocessing of the TSCC
    paper (demean, detrend, scale to a peak absolute value of 1).

    Parameters
    ----------
    demean : bool, default=True
        Subtract the mean of the observed values.
    detrend : bool, default=True
        Subtract the least-squares straight line through the observed values
        against their timestamp index. The line includes the mean, so
        ``detrend=True`` demeans whatever ``demean`` says.
    normalize : {"maxabs", "zscore"} or None, default="maxabs"
        Scale applied after demeaning and detrending:

        - ``"maxabs"``: divide by the maximum absolute value (peak of 1);
        - ``"zscore"``: divide by the standard deviation (unit standard
          deviation; with ``demean`` or ``detrend`` this is the usual z-score);
        - ``None``: no scaling.

        A channel without spread (constant, all zero) is left unscaled
        instead of divided by zero; after demeaning it is all zero.

    Attributes
    ----------
    n_features_in_ : int
        Number of timestamps seen during :meth:`fit` (``X.shape[1]``,
        scikit-learn's convention). Only set by ``fit``, which ``transform``
        does not need.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen during :meth:`fit`, for 2-D input with
        string column names only.

    See Also
    --------
    sklearn.preprocessing.Normalizer : Scale each sample to unit norm.
    sklearn.preprocessing.StandardScaler : Standardise features (columns),
        using statistics learnt across samples.

    Notes
    -----
    NaN marks a missing timestamp. It stays NaN and is ignored when computing
    the mean, the trend and the scale; a channel that is NaN throughout stays
    NaN. inf is rejected. Float32 input gives float32 output, any other real
    dtype gives float64; the computation itself runs in float64. The input
    array is never modified.

    Examples
    --------
    >>> import numpy as np
    >>> from tscc.preprocessing import WaveformNormalizer
    >>> X = np.array([[1.0, 4.0, 2.0, 1.0],
    ...               [5.0, 5.0, np.nan, 5.0]])
    >>> WaveformNormalizer(detrend=False).fit_transform(X)
    array([[-0.5,  1. ,  0. , -0.5],
           [ 0. ,  0. ,  nan,  0. ]])
    >>> WaveformNormalizer().fit_transform(np.arange(5.0)[np.newaxis])
    array([[0., 0., 0., 0., 0.]])
    >>> X = np.random.default_rng(0).normal(size=(3, 100, 2)).astype(np.float32)
    >>> Xt = WaveformNormalizer(normalize="zscore").fit_transform(X)
    >>> Xt.shape, Xt.dtype
    ((3, 100, 2), dtype('float32'))
    >>> np.round(Xt.std(axis=1), 4)
    array([[1., 1.],
           [1., 1.],
           [1., 1.]], dtype=float32)
    """

    _parameter_constraints: dict = {
        "demean": ["boolean"],
        "detrend": ["boolean"],
        "normalize": [StrOptions({"maxabs", "zscore"}), None],
    }

    def __init__(self, *, demean=True, detrend=True, normalize="maxabs"):
        self.demean = demean
        self.detrend = detrend
        self.normalize = normalize

    def _validate(self, X, *, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
            allow_nd=True,
        )
        if X.ndim > 3:
            raise ValueError(
                "Expected series of shape (n_samples, n_timestamps) or (n_samples, "
                f"n_timestamps, n_channels), got an array with {X.ndim} dimensions "
                f"of shape {X.shape}."
            )
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Only validate the parameters and the input.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps) or \
                (n_samples, n_timestamps, n_channels)
            Series; NaN marks a missing timestamp.
        y : None
            Ignored.

        Returns
        -------
        self : WaveformNormalizer
            The transformer.
        """
        self._validate(X, reset=True)
        return self

    def transform(self, X):
        """Demean, detrend and normalise each channel of each series.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps) or \
                (n_samples, n_timestamps, n_channels)
            Series; NaN marks a missing timestamp. If the transformer was
            fitted, ``n_timestamps`` must match.

        Returns
        -------
        X_new : ndarray of the shape of ``X``
            The processed series: float32 for float32 input, else float64.
        """
        # transform works unfitted (a stateless transformer), so the
        # parameters are checked here rather than only by _fit_context.
        self._validate_params()
        X = self._validate(X, reset=False)
        as_3d = X if X.ndim == 3 else X[:, :, np.newaxis]
        out = _normalize_waveforms(
            as_3d,
            demean=self.demean,
            detrend=self.detrend,
            normalize=self.normalize,
        )
        return out.reshape(X.shape)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
