"""Random streams of a fit: seeds per phase, torch's generators, crop streams.

A fit draws everything from seeds derived from ``random_state``, and leaves
the caller's global RNG state as it found it.
"""

from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["seed_sequence", "seeded_torch", "shuffle_and_crop_streams"]


def seed_sequence(seed, n):
    """Derive ``n`` independent integer seeds from one seed.

    Parameters
    ----------
    seed : int
    n : int

    Returns
    -------
    seeds : list of int
        The first ``k`` of them do not depend on ``n``.

    Examples
    --------
    >>> from tscc._seeding import seed_sequence
    >>> seed_sequence(0, 3)[:2] == seed_sequence(0, 2)
    True
    """
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]


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


def shuffle_and_crop_streams(crop_seed, ranks):
    """Shuffling stream (shared by all ranks) and cropping stream (one per rank).

    In a single process they are one stream.

    Parameters
    ----------
    crop_seed : int
    ranks : Ranks

    Returns
    -------
    order_rng, crop_rng : numpy.random.Generator
    """
    order_rng = np.random.default_rng(crop_seed)
    if not ranks.distributed:
        return order_rng, order_rng
    return order_rng, np.random.default_rng(ranks.stream_seed(crop_seed))
