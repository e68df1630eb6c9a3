"""What a long job tells its user while it runs: progress bars, epoch lines, notes.

A default fit at the paper's size takes most of an hour on two CPU cores, so
``verbose=1`` shows one progress bar per training phase, over its optimizer
steps, with the running losses and the time left (tqdm, in terminals and
notebooks alike); ``verbose=2`` prints one line per epoch instead. Without
tqdm installed, ``verbose=1`` falls back to the epoch lines
(:class:`TrainingProgress`).

Every other long job (cutting an archive into a windows store, a Dask
computation run by the command line) counts its units of work with
:class:`JobProgress`: a tqdm bar, or without tqdm a line on stderr every 5 %
of the units.
"""

import sys
import time
from contextlib import contextmanager

__all__ = ["JobProgress", "TrainingProgress"]

PHASE_NAMES = {"pretrain": "pretraining", "finetune": "fine-tuning"}

# Reading a loss off the device waits for the device; once a second is enough
# for a human to read.
_LOSS_REFRESH_SECONDS = 1.0


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class TrainingProgress:
    """Progress reporting of a fit, as chosen by ``verbose``.

    Parameters
    ----------
    verbose : int
        ``0`` says nothing; ``1`` shows a progress bar per phase with the mean
        losses of the epoch so far (one line per epoch without tqdm); ``2`` or
        more prints one line per epoch.

    Examples
    --------
    >>> from tscc.progress import TrainingProgress
    >>> progress = TrainingProgress(verbose=2)
    >>> with progress.phase("pretrain", n_steps=6):
    ...     progress.epoch("pretrain", 1, 2, {"contrastive": 1.5, "cluster": 0.0,
    ...                                       "seconds": 0.25})
    [TSCC] pretrain epoch 1/2: contrastive=1.5000 (0.2s)
    >>> progress.message("K-means initialisation of 2 centres")
    [TSCC] K-means initialisation of 2 centres
    """

    def __init__(self, verbose):
        self.verbose = verbose
        self._bar = None
        self._reset_losses()
        self._shown_at = 0.0

    @property
    def uses_bar(self):
        """Whether phases show a progress bar (``verbose=1`` with tqdm)."""
        return self.verbose == 1 and _tqdm() is not None

    @contextmanager
    def phase(self, phase, n_steps):
        """Show a bar over the ``n_steps`` optimizer steps of a phase.

        Parameters
        ----------
        phase : {"pretrain", "finetune"}
            The training phase.
        n_steps : int
            Optimizer steps the phase will run at most (its budget).

        Yields
        ------
        None
        """
        if not self.uses_bar or n_steps == 0:
            yield
            return
        self._bar = _tqdm()(
            total=n_steps,
            desc=PHASE_NAMES[phase],
            unit="step",
            dynamic_ncols=True,
        )
        self._reset_losses()
        self._shown_at = 0.0
        try:
            yield
        finally:
            self._show_losses()
            self._bar.close()
            self._bar = None

    def step(self, contrastive, cluster=None):
        """Advance the bar by one optimizer step with its losses.

        The bar shows the mean losses of the epoch so far.

        Parameters
        ----------
        contrastive : torch.Tensor
            The step's contrastive loss, detached.
        cluster : torch.Tensor, default=None
            The step's clustering loss, detached, in fine-tuning.
        """
        if self._bar is None:
            return
        # sums stay on the device: no wait for it until the bar shows them
        self._sums["contrastive"] = self._sums.get("contrastive", 0) + contrastive
        if cluster is not None:
            self._sums["cluster"] = self._sums.get("cluster", 0) + cluster
        self._steps += 1
        self._bar.update(1)
        if time.monotonic() - self._shown_at >= _LOSS_REFRESH_SECONDS:
            self._show_losses()

    def _reset_losses(self):
        self._sums, self._steps = {}, 0

    def _show_losses(self):
        if not self._steps:
            return
        postfix = {
            name: f"{float(total) / self._steps:.4f}"
            for name, total in self._sums.items()
        }
        self._bar.set_postfix(postfix, refresh=False)
        self._shown_at = time.monotonic()

    def epoch(self, phase, epoch, n_epochs, losses):
        """Report a completed epoch: one line, unless a bar shows the phase.

        Parameters
        ----------
        phase : {"pretrain", "finetune"}
            The training phase.
        epoch : int
            One-based epoch number.
        n_epochs : int
            Epochs of the phase.
        losses : dict
            ``contrastive``, ``cluster`` and ``seconds`` of the epoch.
        """
        if self._bar is not None:
            self._show_losses()
            self._reset_losses()
        if not self.verbose or self.uses_bar:
            return
        message = (
            f"{phase} epoch {epoch}/{n_epochs}: contrastive={losses['contrastive']:.4f}"
        )
        if phase == "finetune":
            message += f" cluster={losses['cluster']:.4f}"
        self.message(f"{message} ({losses['seconds']:.1f}s)")

    def message(self, text):
        """Print a note about the fit, above the bar if one is showing.

        Parameters
        ----------
        text : str
            The note, printed after ``[TSCC]``.
        """
        if not self.verbose:
            return
        line = f"[TSCC] {text}"
        if self._bar is not None:
            self._bar.write(line)
        else:
            print(line, flush=True)


class JobProgress:
    """Progress of a long job counted in units of work (groups of files, tasks).

    A tqdm bar over the units, with running counts beside it; without tqdm,
    a line on stderr every 5 % of the units, e.g. ``[tscc] 2/4 groups, 30
    windows``. Nothing is shown when disabled, or when the job starts
    complete (``initial >= total``).

    Parameters
    ----------
    total : int
        Units of the whole job.
    desc : str
        Name of the job, shown before the bar.
    unit : str
        Name of one unit of work, e.g. ``"group"``.
    enabled : bool, default=True
        Whether to show anything.
    initial : int, default=0
        Units done before this call (a resumed job).

    Examples
    --------
    >>> from tscc.progress import JobProgress
    >>> with JobProgress(2, desc="windows", unit="group", enabled=False) as bar:
    ...     bar.update(windows=15)
    ...     bar.update(windows=30)
    >>> bar.done
    2
    """

    def __init__(self, total, *, desc, unit, enabled=True, initial=0):
        self.total, self.done = total, initial
        self.unit = unit
        self.shown = enabled and initial < total
        self._bar = None
        self._every = max(1, total // 20)
        if self.shown and _tqdm() is not None:
            self._bar = _tqdm()(
                total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True
            )

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def update(self, n=1, **counts):
        """Count ``n`` more units done, with the running ``counts`` to show.

        Parameters
        ----------
        n : int, default=1
            Units done since the last call.
        **counts : int
            Totals to show beside the bar, e.g. ``windows=30``.
        """
        self.done += n
        if self._bar is not None:
            if counts:
                self._bar.set_postfix(counts, refresh=False)
            self._bar.update(n)
            return
        if not self.shown:
            return
        if self.done // self._every > (self.done - n) // self._every or (
            self.done == self.total
        ):
            shown = "".join(f", {value} {name}" for name, value in counts.items())
            print(
                f"[tscc] {self.done}/{self.total} {self.unit}s{shown}",
                file=sys.stderr,
                flush=True,
            )

    def close(self):
        """Close the bar, if one is showing."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
