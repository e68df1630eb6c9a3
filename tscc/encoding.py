"""Batched encoding of whole series into features, and their memberships.

Everything that turns series into the pooled features ``R`` outside a
training step goes through here: ``transform``, ``predict`` and their Dask
twins (:mod:`tscc.dask`), the K-means initialisation and the centre steps of
fine-tuning. Series come as a :class:`~tscc.series.ChunkedSeries` or
:class:`~tscc.series.TensorSeries` (or anything :func:`~tscc.series.as_series`
takes) and are encoded one block of rows at a time, so memory is bounded by
the block and the features, not by the input.

A series gets the same features, bit for bit, whatever other series it is
encoded with: every batch is padded to ``batch_size`` series, since BLAS picks
other kernels for other matrix sizes, which changes the last bits.
"""

import numpy as np
import torch

from .clustering import fuzzy_memberships, squared_distances
from .distributed import current_ranks
from .series import as_float_tensor, as_series, block_rows

__all__ = [
    "encode_features",
    "encode_all_features",
    "encoded_blocks",
    "feature_memberships",
    "feature_labels",
    "observed_timestamps",
]

# Rows of features turned into memberships at once.
_MEMBERSHIP_ROWS = 65536


def encoded_blocks(encoder, series, batch_size, device):
    """Features of series one block of rows at a time, for consumers that reduce them.

    Parameters
    ----------
    encoder : TSEncoder
        Its training mode is restored after each block.
    series : ChunkedSeries, TensorSeries, torch.Tensor or ndarray of shape (n, T, C)
        Series; NaN marks missing timestamps.
    batch_size : int
        Series encoded at once; blocks hold a multiple of it.
    device : torch.device or str

    Yields
    ------
    start : int
        Row of the block's first series.
    features : torch.Tensor of shape (rows, repr_dims)
        On ``device``, computed under :func:`torch.inference_mode`; equal, bit
        for bit, to the same rows of :func:`encode_features`.
    """
    series = as_series(series)
    rows = block_rows(series.shape[1], series.shape[2], batch_size)
    for start, block in series.blocks(rows):
        yield start, _encode_block(encoder, as_float_tensor(block), batch_size, device)


def encode_features(encoder, series, batch_size, device):
    """Encode whole series with the mask off and max-pool them over time.

    Parameters
    ----------
    encoder : TSEncoder
        Its training mode is restored afterwards.
    series : ChunkedSeries, TensorSeries, torch.Tensor or ndarray of shape (n, T, C)
        Series (converted to float32); NaN marks missing timestamps.
    batch_size : int
        Series encoded at once.
    device : torch.device or str

    Returns
    -------
    features : torch.Tensor of shape (n_series, repr_dims)
        On ``device``, computed under :func:`torch.inference_mode`. Each
        batch is padded to ``batch_size`` series, so a series gets the same
        features whatever else is encoded with it.
    """
    series = as_series(series)
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
    that one process would compute (:mod:`tscc.distributed`).

    Parameters
    ----------
    encoder : TSEncoder
    series : ChunkedSeries, TensorSeries, torch.Tensor or ndarray of shape (n, T, C)
    batch_size : int
    device : torch.device or str

    Returns
    -------
    features : torch.Tensor of shape (n_series, repr_dims)
        On ``device``.
    """
    series = as_series(series)
    ranks = current_ranks()
    block = series.subset(ranks.shard(len(series))) if ranks.distributed else series
    return ranks.gather_rows(
        encode_features(encoder, block, batch_size, device), len(series)
    )


def _encode_block(encoder, series, batch_size, device):
    """Features of a block of series, encoded batch by batch."""
    was_training = encoder.training
    encoder.eval()
    chunks = []
    with torch.inference_mode():
        for start in range(0, series.shape[0], batch_size):
            batch = series[start : start + batch_size].to(device, non_blocking=True)
            n_real = batch.shape[0]
            batch = _pad_batch(batch, batch_size)
            features = encoder.pool(encoder(batch), observed_timestamps(batch))
            chunks.append(features[:n_real])
    encoder.train(was_training)
    return torch.cat(chunks)


def _pad_batch(batch, batch_size):
    missing = batch_size - batch.shape[0]
    if missing <= 0:
        return batch
    filler = batch.new_zeros((missing, *batch.shape[1:]))
    return torch.cat([batch, filler])


def observed_timestamps(batch):
    """Timestamps at which a series has any observed (non-NaN) channel.

    Parameters
    ----------
    batch : torch.Tensor of shape (batch, T, C)

    Returns
    -------
    observed : torch.Tensor of bool and shape (batch, T)
    """
    return ~torch.isnan(batch).any(dim=-1)


# ------------------------------------------------------------- memberships


def feature_memberships(features, centers, m):
    """Fuzzy memberships of features, in float64, a block of rows at a time.

    Parameters
    ----------
    features : torch.Tensor or ndarray of shape (n_series, repr_dims)
        On the CPU.
    centers : torch.Tensor or ndarray of shape (n_clusters, repr_dims)
        Cluster centres (``cluster_centers_``).
    m : float
        Fuzzifier, > 1.

    Returns
    -------
    memberships : ndarray of shape (n_series, n_clusters), dtype float64
        Each row sums to one.

    Examples
    --------
    >>> import numpy as np
    >>> from tscc.encoding import feature_memberships
    >>> features, centers = np.array([[1.0], [3.0]]), np.array([[0.0], [4.0]])
    >>> feature_memberships(features, centers, m=2.0).round(2)
    array([[0.9, 0.1],
           [0.1, 0.9]])
    """
    features = torch.as_tensor(features)
    centers = torch.as_tensor(centers)
    memberships = torch.empty((len(features), len(centers)), dtype=torch.float64)
    # float64 copies of a block of features at a time, never of all of them
    for start in range(0, len(features), _MEMBERSHIP_ROWS):
        block = features[start : start + _MEMBERSHIP_ROWS].double()
        memberships[start : start + len(block)] = fuzzy_memberships(
            squared_distances(block, centers), m
        )
    return memberships.numpy()


def feature_labels(features, centers, m):
    """Cluster of highest membership of each feature row.

    Parameters
    ----------
    features : torch.Tensor or ndarray of shape (n_series, repr_dims)
        On the CPU.
    centers : torch.Tensor or ndarray of shape (n_clusters, repr_dims)
    m : float
        Fuzzifier, > 1.

    Returns
    -------
    labels : ndarray of shape (n_series,), dtype int64
    """
    labels = np.empty(len(features), dtype=np.int64)
    for start in range(0, len(features), _MEMBERSHIP_ROWS):
        block = features[start : start + _MEMBERSHIP_ROWS]
        labels[start : start + len(block)] = feature_memberships(
            block, centers, m
        ).argmax(axis=1)
    return labels
