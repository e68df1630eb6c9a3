"""Input validation shared by the estimator's methods."""

import numpy as np
import torch
from sklearn.utils.validation import validate_data

from .series import ChunkedSeries, block_rows, is_lazy_array, scan_series

__all__ = [
    "MAX_ABS_VALUE",
    "check_series",
    "fast_bfloat16",
    "resolve_device",
    "restore_device",
    "resolve_precision",
]

# Largest accepted |x|: representations grow with the input and their squared
# similarities must stay finite in float32 (about 3e38).
MAX_ABS_VALUE = 1e15


def check_series(
    estimator, X, *, reset, min_samples=1, batch_size=64, fingerprint=False
):
    """Validate series and return them as a :class:`~tscc.series.ChunkedSeries`.

    In-memory arrays are validated as scikit-learn validates arrays; memory
    maps and chunked arrays (Zarr, HDF5, Dask: :func:`~tscc.series.is_lazy_array`)
    get the same checks and messages, made on one block of rows at a time,
    so that nothing of the size of the input is built.

    Parameters
    ----------
    estimator : TSCCClusterer
        The estimator; with ``reset=True`` its ``n_features_in_`` (the number
        of timestamps) and ``n_channels_in_`` are set, otherwise checked.
    X : array-like of shape (n_samples, n_timestamps) or \
            (n_samples, n_timestamps, n_channels)
        Series; NaN marks missing timestamps, inf and values of magnitude
        ``MAX_ABS_VALUE`` or more are rejected.
    reset : bool
        Whether this is a call to ``fit``.
    min_samples : int, default=1
        Smallest accepted number of series.
    batch_size : int, default=64
        Encoding batch size; blocks are a multiple of it.
    fingerprint : bool, default=False
        Whether to hash the series in the same pass (for cache keys).

    Returns
    -------
    series : ChunkedSeries
        Of shape (n_samples, n_timestamps, n_channels), float32 or float64;
        an in-memory array is shared with the input, never written to.
    digest : str or None
        Hash of the series' shape, dtype and values, when ``fingerprint``.
    """
    if X is None:
        raise TypeError(
            "X must be an array-like of shape (n_samples, n_timestamps) or "
            "(n_samples, n_timestamps, n_channels), got None."
        )
    lazy = is_lazy_array(X)
    # A lazy array is checked for dimensions, dtype and the number of
    # timestamps on its first row, which gives an array's messages.
    head = np.asarray(X[:1]) if lazy else X
    head = validate_data(
        estimator,
        head,
        reset=reset,
        dtype=[np.float64, np.float32],
        ensure_all_finite="allow-nan",
        allow_nd=True,
        ensure_min_samples=min_samples if not lazy else 1,
    )
    shape = tuple(X.shape) if lazy else head.shape
    if lazy and shape[0] < min_samples:
        raise ValueError(
            f"Found array with {shape[0]} sample(s) (shape={shape}) while a "
            f"minimum of {min_samples} is required by {type(estimator).__name__}."
        )
    if len(shape) > 3:
        raise ValueError(
            "Expected series of shape (n_samples, n_timestamps) or (n_samples, "
            f"n_timestamps, n_channels), got an array with {len(shape)} dimensions "
            f"of shape {shape}."
        )
    n_channels = shape[2] if len(shape) == 3 else 1
    if n_channels == 0:
        raise ValueError(f"Found series with 0 channels (shape={shape}).")
    if reset:
        estimator.n_channels_in_ = n_channels
    elif n_channels != estimator.n_channels_in_:
        raise ValueError(
            f"X has {n_channels} channels, but {type(estimator).__name__} was "
            f"fitted on series with {estimator.n_channels_in_} channels."
        )
    series = ChunkedSeries(X if lazy else head, head.dtype)
    rows = block_rows(shape[1], n_channels, batch_size, head.dtype.itemsize)
    empty_rows, peak, digest = scan_series(
        series, rows, check_finite=lazy, fingerprint=fingerprint
    )
    if empty_rows.size:
        shown = ", ".join(map(str, empty_rows[:10]))
        shown += ", ..." if empty_rows.size > 10 else ""
        raise ValueError(
            f"{empty_rows.size} series have no observed timestamp (every value is "
            f"NaN), at rows {shown}. Remove them before clustering."
        )
    if peak >= MAX_ABS_VALUE:
        raise ValueError(
            f"X holds values up to {peak:.3g} in magnitude; the encoder computes in "
            "float32, where similarities of such values overflow. Scale the "
            "series first, e.g. divide each by its maximum absolute value."
        )
    return series, digest


def resolve_device(device):
    """Turn the ``device`` parameter into a usable :class:`torch.device`.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or
        ``"cuda:N"``, or any other device type torch knows and has.

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        If the name is not a torch device, or the device is not available.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a valid device; use 'auto', 'cpu', 'cuda' "
            "or 'cuda:N'."
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on "
                "this machine; use device='cpu' or device='auto'."
            )
        index = 0 if resolved.index is None else resolved.index
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only "
                f"{torch.cuda.device_count()} CUDA device(s) are visible."
            )
        return torch.device("cuda", index)
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was requested but MPS is not available.")
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda' or "
            "'cuda:N'."
        )
    return resolved


def restore_device(fitted_on, requested=None):
    """Device for a fitted model that is being unpickled or loaded.

    Parameters
    ----------
    fitted_on : str
        The device the model was fitted on (its ``device_``).
    requested : str, torch.device or None, default=None
        A device asked for explicitly; it must be usable here.

    Returns
    -------
    device : torch.device
        ``requested`` when given, else ``fitted_on`` when this machine has it
        (any CUDA index, MPS), else the CPU.

    Raises
    ------
    ValueError
        If ``requested`` is not a usable device.

    Examples
    --------
    >>> from tscc._validation import restore_device
    >>> restore_device("cpu")
    device(type='cpu')
    >>> restore_device("cuda:0", requested="cpu")
    device(type='cpu')
    """
    if requested is not None:
        return resolve_device(requested)
    try:
        return resolve_device(fitted_on)
    except ValueError:  # fitted on a device this machine lacks
        return torch.device("cpu")


def fast_bfloat16(device):
    """Whether ``device`` has hardware for fast bfloat16 matrix products.

    Parameters
    ----------
    device : torch.device

    Returns
    -------
    bool
        True for CUDA devices that support bfloat16 (compute capability 8.0 and
        up) and for CPUs with bfloat16 dot-product instructions: AVX-512 BF16
        (Intel Cooper Lake, AMD Zen 4 and later) or AMX tiles (Intel Sapphire
        Rapids and later).
    """
    if device.type == "cuda":
        with torch.cuda.device(device):
            return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        # Without these instructions bfloat16 products are emulated with
        # float32 arithmetic plus conversions, so they gain nothing.
        return any(
            bool(getattr(torch.cpu, name, lambda: False)())
            for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
        )
    return False


def resolve_precision(precision, device):
    """Turn the ``precision`` parameter into ``"float32"`` or ``"bfloat16"``.

    Parameters
    ----------
    precision : {"auto", "float32", "bfloat16"}
        ``"auto"`` is ``"bfloat16"`` where :func:`fast_bfloat16` holds for
        ``device``, else ``"float32"``.
    device : torch.device
        The resolved training device.

    Returns
    -------
    precision : str

    Raises
    ------
    ValueError
        If bfloat16 is asked for on a device type other than CPU and CUDA.
    """
    if precision == "auto":
        return "bfloat16" if fast_bfloat16(device) else "float32"
    if precision == "bfloat16" and device.type not in ("cpu", "cuda"):
        raise ValueError(
            f"precision='bfloat16' is supported on the CPU and CUDA, not on "
            f"{device.type!r}; use precision='float32'."
        )
    return precision
