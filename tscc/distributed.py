"""Data-parallel training over a ``torch.distributed`` process group.

tscc trains data-parallel when its caller (``torchrun``, ``tscc fit --nproc``
or a launcher of their own) has initialised a process group; nothing else
changes in the calls. :func:`current_ranks` describes that group, and the
training loops do all their communication through the :class:`Ranks` it
returns, whose collectives do nothing in a single process, so that one code
path serves both.

What is shared and what is not:

- ``batch_size`` is the global batch: each of W ranks takes ``batch_size / W``
  series a step (:meth:`Ranks.batch_share`), so that a fit takes the steps
  and sees the batches of a single process, whatever W;
- every rank draws the same permutation of the series per epoch and takes its
  own equal-length share of it (:meth:`Ranks.epoch_share`); crops, masks and
  dropout come from streams of its own;
- gradients are averaged by :class:`~torch.nn.parallel.DistributedDataParallel`
  (:meth:`Ranks.wrap`);
- features are computed for a contiguous block of series per rank
  (:meth:`Ranks.shard`); the fuzzy centre step sums over all of them
  (:func:`tscc.clustering.fuzzy_center_step` with the ranks), and K-means
  runs on rank 0 over all features and is broadcast;
- a non-finite loss or a Ctrl-C on any rank stops every rank at the same step
  (:meth:`Ranks.check_step`);
- warnings are issued by rank 0 alone (:meth:`Ranks.lead_warnings`).
"""

import math
import os
import signal
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist

__all__ = [
    "Ranks",
    "current_ranks",
    "rank_device",
    "launched_by_torchrun",
    "process_group",
    "launch_local_processes",
]


@dataclass
class Ranks:
    """The processes that train one model together, as the training loops see them.

    Parameters
    ----------
    rank : int, default=0
        This process's rank.
    size : int, default=1
        Number of processes; 1 is a plain, single-process fit.

    Attributes
    ----------
    interrupt_requested : bool
        Set by Ctrl-C while :meth:`deferred_interrupt` is active.

    Examples
    --------
    >>> import torch
    >>> from tscc.distributed import Ranks
    >>> ranks = Ranks()  # a single process: every collective is a no-op
    >>> ranks.epoch_share(torch.arange(5)).tolist(), ranks.shard(5)
    ([0, 1, 2, 3, 4], slice(0, 5, None))
    """

    rank: int = 0
    size: int = 1
    interrupt_requested: bool = field(default=False, compare=False)

    @property
    def distributed(self):
        """Whether more than one process trains."""
        return self.size > 1

    def epoch_share(self, order):
        """Share of this rank in an epoch's permutation of the series.

        The permutation is padded with its own first entries to a multiple of
        the number of ranks, as :class:`~torch.utils.data.DistributedSampler`
        does, and rank ``r`` takes every ``size``-th entry from ``r``: all
        ranks take the same number of optimizer steps.

        Parameters
        ----------
        order : torch.Tensor of int64 and shape (n_series,)
            The epoch's permutation, the same on every rank.

        Returns
        -------
        share : torch.Tensor of int64 and shape (ceil(n_series / size),)
        """
        if not self.distributed:
            return order
        padded = self.share_length(len(order)) * self.size
        repeats = math.ceil(padded / len(order))
        return order.repeat(repeats)[:padded][self.rank :: self.size]

    def batch_share(self, batch_size):
        """Series each rank takes per optimizer step, of a global ``batch_size``.

        Parameters
        ----------
        batch_size : int
            Series per step over all ranks (the estimator's ``batch_size``).

        Returns
        -------
        share : int
            ``batch_size / size`` when it divides, else rounded up (the step
            then takes ``share * size`` series; see :meth:`batch_note`); at
            least 1.

        Examples
        --------
        >>> from tscc.distributed import Ranks
        >>> [Ranks(0, size).batch_share(64) for size in (1, 2, 3)]
        [64, 32, 22]
        """
        return max(1, math.ceil(batch_size / self.size))

    def batch_note(self, batch_size):
        """What a distributed fit makes of ``batch_size``, or None when it divides.

        Parameters
        ----------
        batch_size : int

        Returns
        -------
        note : str or None
            A sentence for a warning when the processes cannot share
            ``batch_size`` equally, naming the batch they take instead.
        """
        share = self.batch_share(batch_size)
        if share * self.size == batch_size:
            return None
        lower = (batch_size // self.size) * self.size
        closest = f"{lower} or {share * self.size}" if lower else f"{share * self.size}"
        return (
            f"batch_size={batch_size} does not divide over {self.size} processes: "
            f"each takes {share} series a step, {share * self.size} in all. Set a "
            f"batch_size that {self.size} divides ({closest}) to train on "
            "exactly that many."
        )

    @contextmanager
    def lead_warnings(self):
        """While active, warnings are shown by rank 0 only.

        Every rank meets the same conditions (the same data, settings and,
        after each step, the same weights), so one copy of each warning is
        enough; a single process shows all of them. The warning filters are
        restored on exit.
        """
        if self.rank == 0:
            yield self
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield self

    def share_length(self, n_series):
        """Series each rank trains on per epoch.

        Parameters
        ----------
        n_series : int

        Returns
        -------
        length : int
            ``ceil(n_series / size)``.
        """
        return math.ceil(n_series / self.size)

    def stream_seed(self, seed):
        """Seed of a random stream of this rank's own, derived from ``seed``.

        ``seed`` itself in a single process, so that one rank draws exactly
        what a plain fit draws.

        Parameters
        ----------
        seed : int

        Returns
        -------
        seed : int
            The same on every run for a given rank and number of ranks.
        """
        if not self.distributed:
            return seed
        states = np.random.SeedSequence(seed).generate_state(self.size)
        return int(states[self.rank])

    def shard_bounds(self, n_series):
        """Where every rank's block of rows starts, and where the last ends.

        Parameters
        ----------
        n_series : int

        Returns
        -------
        bounds : list of int of length size + 1
            Rank ``r`` holds rows ``bounds[r]:bounds[r + 1]``.
        """
        return [n_series * rank // self.size for rank in range(self.size + 1)]

    def shard(self, n_series):
        """Contiguous block of rows of this rank, for encoding and centre steps.

        Parameters
        ----------
        n_series : int

        Returns
        -------
        rows : slice
        """
        bounds = self.shard_bounds(n_series)
        return slice(bounds[self.rank], bounds[self.rank + 1])

    def sum(self, tensor):
        """Sum ``tensor`` over ranks, in place.

        Parameters
        ----------
        tensor : torch.Tensor
            Same shape on every rank.

        Returns
        -------
        tensor : torch.Tensor
            ``tensor`` itself, now the sum.
        """
        if self.distributed:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def broadcast(self, tensor, source=0):
        """Overwrite ``tensor`` with rank ``source``'s, in place.

        Parameters
        ----------
        tensor : torch.Tensor
            Same shape on every rank.
        source : int, default=0

        Returns
        -------
        tensor : torch.Tensor
            ``tensor`` itself, now rank ``source``'s.
        """
        if self.distributed:
            dist.broadcast(tensor, src=source)
        return tensor

    def gather_rows(self, block, n_series):
        """All ranks' blocks of rows (see :meth:`shard`), in rank order.

        Parameters
        ----------
        block : torch.Tensor of shape (rows, ...)
            This rank's rows ``shard(n_series)``.
        n_series : int
            Rows over all ranks.

        Returns
        -------
        rows : torch.Tensor of shape (n_series, ...)
            The same on every rank.
        """
        if not self.distributed:
            return block
        bounds = self.shard_bounds(n_series)
        sizes = np.diff(bounds)
        # all_gather wants equal sizes: pad every block to the largest
        padded = block.new_zeros((int(sizes.max()), *block.shape[1:]))
        padded[: len(block)] = block
        parts = [torch.empty_like(padded) for _ in range(self.size)]
        dist.all_gather(parts, padded)
        return torch.cat([part[:size] for part, size in zip(parts, sizes, strict=True)])

    def wrap(self, module, device):
        """``module`` wrapped for gradient averaging when distributed, else itself.

        Parameters
        ----------
        module : torch.nn.Module
            Every parameter must receive a gradient at every step.
        device : torch.device
            The device ``module`` lives on.

        Returns
        -------
        module : torch.nn.Module
            A :class:`~torch.nn.parallel.DistributedDataParallel` (which
            copies rank 0's parameters to every rank) or ``module``.
        """
        if not self.distributed:
            return module
        device_ids = [device] if device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=device_ids)

    def check_step(self, loss, device):
        """Agree after a step whether any rank's loss is non-finite or was interrupted.

        One small all-reduce per step, and only when distributed: a single
        process checks its losses once per epoch, as before.

        Parameters
        ----------
        loss : torch.Tensor
            This rank's loss of the step.
        device : torch.device

        Raises
        ------
        FloatingPointError
            On every rank, when the loss of any rank is NaN or infinite.
        KeyboardInterrupt
            On every rank, when Ctrl-C reached any rank.
        """
        if not self.distributed:
            return
        here = _nonfinite(loss)
        flags = torch.tensor(
            [here, self.interrupt_requested], dtype=torch.int32, device=device
        )
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        nonfinite, interrupted = flags.tolist()
        if nonfinite:
            where = "this rank" if here else "another rank"
            raise FloatingPointError(
                f"The training loss became non-finite on {where} (rank "
                f"{self.rank} of {self.size}); every rank stops. Scale the series "
                "(e.g. max |x| = 1 per series) or lower the learning rate."
            )
        if interrupted:
            self.interrupt_requested = False
            raise KeyboardInterrupt

    @contextmanager
    def deferred_interrupt(self):
        """While active, Ctrl-C sets :attr:`interrupt_requested` instead of raising.

        Only when distributed, and only in the main thread (where Python
        delivers signals): every rank then stops at the same step
        (:meth:`check_step`). The previous handler is restored on exit. A
        process that ignores SIGINT (a job started in the background by a
        shell, ``nohup``) keeps ignoring it: that is its owner's choice.
        """
        if (
            not self.distributed
            or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        ):
            yield self
            return

        def request(signum, frame):
            self.interrupt_requested = True

        previous = signal.signal(signal.SIGINT, request)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
            self.interrupt_requested = False

    def kmeans_centers(self, features, fit_centers, n_clusters, device):
        """Centres fitted on rank 0 from all ranks' features, broadcast to all.

        Parameters
        ----------
        features : torch.Tensor of shape (n_series, n_dims)
            The features of all series (see :meth:`gather_rows`).
        fit_centers : callable
            ``fit_centers(features) -> ndarray of shape (n_clusters, n_dims)``,
            run on rank 0 only.
        n_clusters : int
        device : torch.device

        Returns
        -------
        centers : torch.Tensor of shape (n_clusters, n_dims), float32
        """
        if not self.distributed or self.rank == 0:
            centers = torch.as_tensor(
                fit_centers(features.cpu()), dtype=torch.float32, device=device
            )
        else:
            centers = torch.empty(
                (n_clusters, features.shape[1]), dtype=torch.float32, device=device
            )
        return self.broadcast(centers)


def _nonfinite(loss):
    """Whether this rank's own loss is NaN or infinite."""
    return not bool(torch.isfinite(loss.detach()).item())


def current_ranks():
    """The process group tscc trains over: the default group if one is initialised.

    Returns
    -------
    ranks : Ranks
        ``Ranks(0, 1)`` when ``torch.distributed`` is unavailable or no
        process group is initialised.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return Ranks()
    return Ranks(dist.get_rank(), dist.get_world_size())


def rank_device(device, ranks):
    """The device of this rank: its own GPU when ``device`` is CUDA without an index.

    Parameters
    ----------
    device : torch.device
    ranks : Ranks

    Returns
    -------
    device : torch.device
        ``cuda:LOCAL_RANK`` (``torchrun``'s rank within the node, else the
        rank modulo the GPUs) for ``cuda`` in a distributed fit; else
        ``device``.
    """
    if not ranks.distributed or device.type != "cuda" or device.index is not None:
        return device
    local = int(os.environ.get("LOCAL_RANK", ranks.rank))
    return torch.device("cuda", local % torch.cuda.device_count())


def launched_by_torchrun():
    """Whether this process is a worker started by ``torchrun``.

    Returns
    -------
    launched : bool
        True when torchrun's ``RANK``, ``WORLD_SIZE`` and ``MASTER_ADDR``
        are in the environment.
    """
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR"))


@contextmanager
def process_group(device):
    """Join ``torchrun``'s process group for the duration of the block.

    Parameters
    ----------
    device : torch.device
        The training device: NCCL for CUDA, else gloo.

    Yields
    ------
    ranks : Ranks
        The group this process trains in.
    """
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend)
    try:
        yield current_ranks()
    finally:
        dist.destroy_process_group()


def launch_local_processes(nproc, module_args, threads=1):
    """Run ``python -m tscc MODULE_ARGS`` in ``nproc`` processes with ``torchrun``.

    A single-node ``torchrun --standalone`` launch: the processes meet at a
    free port of this machine and find each other there. When one process
    fails, ``torchrun`` stops the others.

    Parameters
    ----------
    nproc : int
        Number of processes.
    module_args : list of str
        Arguments of ``python -m tscc``, the same for every process.
    threads : int, default=1
        Threads of each process (``OMP_NUM_THREADS``), unless the
        environment sets it already.

    Raises
    ------
    ChildFailedError
        From :mod:`torch.distributed.run` when a process failed.
    """
    from torch.distributed import run as torchrun

    options = torchrun.parse_args(
        ["--standalone", f"--nproc-per-node={nproc}", "--module", "tscc"]
    )
    # set here, not parsed: torchrun's parser would take an option of ours
    # that abbreviates one of its own (--m, the fuzzifier) for its own
    options.training_script_args = list(module_args)
    # torchrun hands its environment to the processes; this one's is put back
    added = "OMP_NUM_THREADS" not in os.environ
    if added:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        with kept_signal_dispositions():
            torchrun.run(options)
    finally:
        if added:
            del os.environ["OMP_NUM_THREADS"]


#: The signals whose handlers torchrun's launcher replaces with its own.
_LAUNCHER_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    if hasattr(signal, name)
)


@contextmanager
def kept_signal_dispositions(signals=_LAUNCHER_SIGNALS):
    """Put back the handlers of ``signals`` as they were, on leaving the block.

    ``torchrun``'s launcher installs handlers that stop its processes and
    leaves them installed; a library call must not change how its caller's
    process reacts to Ctrl-C afterwards. Only in the main thread, where
    handlers can be set.

    Parameters
    ----------
    signals : tuple of signal.Signals, default=(SIGINT, SIGTERM, SIGHUP, SIGQUIT)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {number: signal.getsignal(number) for number in signals}
    try:
        yield
    finally:
        for number, handler in before.items():
            if handler is not None and signal.getsignal(number) is not handler:
                signal.signal(number, handler)
