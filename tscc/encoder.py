"""TS2Vec-style dilated convolutional encoder.

The encoder maps a batch of series ``(batch, n_timestamps, n_channels)`` to one
``repr_dims`` vector per timestamp ``(batch, n_timestamps, repr_dims)``.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = [
    "FEATURE_NORMS",
    "POOLINGS",
    "PRECISIONS",
    "DilatedConv1d",
    "DilatedConvBlock",
    "TSEncoder",
    "max_pool_observed",
    "mean_pool_observed",
    "rebuild_encoder",
    "receptive_depth",
    "timestamp_mask",
]

#: Names of the encoder's arithmetic precisions and their compute dtypes.
PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16}
#: Scalings of the pooled series features: none (the paper's) or unit length.
FEATURE_NORMS = (None, "l2")
#: Poolings of the per-timestamp representations into series features: the
#: paper's maximum, or the mean.
POOLINGS = ("max", "mean")


def max_pool_observed(z, observed):
    """Max-pool per-timestamp representations over observed timestamps.

    Parameters
    ----------
    z : torch.Tensor of shape (B, T, R)
    observed : torch.Tensor of shape (B, T), dtype bool

    Returns
    -------
    features : torch.Tensor of shape (B, R)
        A series without any observed timestamp is pooled over all of them.
    """
    masked = z.masked_fill(~observed.unsqueeze(-1), float("-inf"))
    pooled = masked.amax(dim=1)
    return torch.where(torch.isfinite(pooled), pooled, z.amax(dim=1))


def mean_pool_observed(z, observed):
    """Average per-timestamp representations over observed timestamps.

    Parameters
    ----------
    z : torch.Tensor of shape (B, T, R)
    observed : torch.Tensor of shape (B, T), dtype bool

    Returns
    -------
    features : torch.Tensor of shape (B, R)
        A series without any observed timestamp is averaged over all of them.
    """
    weights = observed.to(z.dtype)
    count = weights.sum(dim=1, keepdim=True)
    weights = torch.where(count > 0, weights, torch.ones_like(weights))
    return (z * weights.unsqueeze(-1)).sum(dim=1) / weights.sum(dim=1, keepdim=True)


class DilatedConv1d(nn.Conv1d):
    """Kernel-3 dilated convolution with "same" length on channels-last input.

    Mathematically an :class:`torch.nn.Conv1d` (same parameters and
    initialisation), computed as a single matrix product over the three taps
    stacked along the channels. On the CPU this avoids building a new oneDNN
    kernel for every crop length, is faster than ``conv1d`` for these shapes,
    and gives each series the same result whatever batch it is encoded in. When
    the dilation reaches the series length only the centre tap sees data, so it
    alone is applied.

    Parameters
    ----------
    in_channels : int
        Number of input channels.
    out_channels : int
        Number of output channels.
    dilation : int
        Spacing between the three taps.
    """

    def __init__(self, in_channels, out_channels, dilation):
        super().__init__(
            in_channels, out_channels, 3, padding=dilation, dilation=dilation
        )

    def forward(self, x):  # x: B x T x C_in
        """Convolve ``x`` of shape (B, T, C_in) into (B, T, C_out)."""
        d = self.dilation[0]
        if d >= x.shape[1]:
            return F.linear(x, self.weight[:, :, 1], self.bias)
        weight = self.weight.permute(0, 2, 1).reshape(self.out_channels, -1)
        bias = self.bias
        device_type = x.device.type
        if torch.is_autocast_enabled(device_type):
            dtype = torch.get_autocast_dtype(device_type)
            if x.dtype != dtype:
                # autocast would stack the taps in x's dtype and cast them:
                # keep its arithmetic (in the encoder, x already has dtype)
                return F.linear(_stacked_taps(x, d), weight, bias)
            # autocast's casts of a linear layer's weights, made here because
            # the product runs outside autocast: its backward needs the dtypes
            with torch.autocast(device_type, enabled=False):
                return _TapProduct.apply(x, weight.to(dtype), bias.to(dtype), d)
        return _TapProduct.apply(x, weight, bias, d)


def _stacked_taps(x, dilation):  # x: B x T x C
    """The three taps of each timestamp side by side: B x T x 3C."""
    n_timestamps = x.shape[1]
    padded = F.pad(x, (0, 0, dilation, dilation))  # B x (T + 2d) x C
    # x[t - d], x[t], x[t + d], zero outside the series
    return torch.cat([padded[:, :n_timestamps], x, padded[:, 2 * dilation :]], dim=-1)


class _TapProduct(torch.autograd.Function):
    """``linear(stacked taps of x, weight, bias)`` that keeps ``x``, not its taps.

    Autograd would keep the stacked taps for the weight's gradient: three
    times the size of ``x``, for every convolution of every block. This
    keeps ``x`` and stacks the taps again in the backward pass. Each
    product, sum and addition there is the one autograd makes for
    ``pad``, ``cat`` and ``linear``, in the same order, so the gradients are
    bit-identical to theirs; the backward of the taps is also cheaper than
    autograd's (no zero-filled padded gradients to add up).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, dilation):
        ctx.save_for_backward(x, weight)
        ctx.dilation = dilation
        return F.linear(_stacked_taps(x, dilation), weight, bias)

    @staticmethod
    def backward(ctx, grad):  # grad: B x T x C_out
        x, weight = ctx.saved_tensors
        d = ctx.dilation
        n_timestamps, channels = x.shape[1], x.shape[2]
        grad_rows = grad.reshape(-1, grad.shape[-1])  # BT x C_out
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_taps = grad_rows.mm(weight).view(*x.shape[:2], 3 * channels)
            # the left and the right tap's gradients first, then the centre's
            outer = torch.zeros_like(x)
            outer[:, : n_timestamps - d] = grad_taps[:, d:, :channels]
            outer[:, d:] += grad_taps[:, : n_timestamps - d, 2 * channels :]
            grad_x = outer + grad_taps[:, :, channels : 2 * channels]
        if ctx.needs_input_grad[1]:
            taps = _stacked_taps(x, d).reshape(-1, 3 * channels)
            grad_weight = grad_rows.t().mm(taps)
        if ctx.needs_input_grad[2]:
            grad_bias = grad_rows.sum(0)
        return grad_x, grad_weight, grad_bias, None


class DilatedConvBlock(nn.Module):
    """Residual block of two dilated 1-D convolutions with GELU before each.

    Parameters
    ----------
    in_channels : int
        Number of input channels.
    out_channels : int
        Number of output channels.
    dilation : int
        Dilation of both convolutions (kernel size 3, "same" output length).
    project_residual : bool, default=False
        Add a 1x1 convolution on the residual path. It is always added when the
        channel counts differ.
    """

    def __init__(self, in_channels, out_channels, dilation, project_residual=False):
        super().__init__()
        self.conv1 = DilatedConv1d(in_channels, out_channels, dilation)
        self.conv2 = DilatedConv1d(out_channels, out_channels, dilation)
        if project_residual or in_channels != out_channels:
            self.projector = nn.Linear(in_channels, out_channels)
        else:
            self.projector = None

    def forward(self, x):  # x: B x T x C_in
        """Apply the block to ``x`` of shape (B, T, C_in)."""
        residual = x if self.projector is None else self.projector(x)
        x = self.conv1(F.gelu(x))
        x = self.conv2(F.gelu(x))
        return x + residual  # B x T x C_out


def timestamp_mask(n_series, n_timestamps, p=0.5, generator=None, device=None):
    """Draw a Bernoulli mask of timestamps to keep.

    Parameters
    ----------
    n_series : int
        Number of series in the batch.
    n_timestamps : int
        Number of timestamps per series.
    p : float, default=0.5
        Probability that a timestamp is kept.
    generator : torch.Generator, default=None
        Source of randomness; ``None`` uses torch's global generator.
    device : torch.device, default=None
        Device of the returned mask; must match the generator's device.

    Returns
    -------
    mask : torch.Tensor of shape (n_series, n_timestamps), dtype bool
        ``True`` where the timestamp is kept.

    Examples
    --------
    >>> import torch
    >>> from tscc.encoder import timestamp_mask
    >>> timestamp_mask(2, 5, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([2, 5])
    """
    noise = torch.rand((n_series, n_timestamps), generator=generator, device=device)
    return noise < p


class TSEncoder(nn.Module):
    """Per-timestamp encoder: linear projection, timestamp masking, dilated CNN.

    Parameters
    ----------
    input_dims : int
        Number of channels of the input series.
    repr_dims : int, default=32
        Size of the representation of each timestamp.
    hidden_dims : int, default=64
        Channels of the hidden convolutional blocks.
    depth : int, default=10
        Number of hidden residual blocks of ``hidden_dims`` channels. An output
        block follows them, as in the paper's code and TS2Vec
        (``[hidden_dims] * depth + [repr_dims]``): ``depth + 1`` blocks in all,
        block ``i`` with dilation ``2**i``, the last one projecting its residual
        path to ``repr_dims`` channels.
    mask_prob : float, default=0.5
        Probability of keeping a projected timestamp when a training mask is drawn.
    dropout : float, default=0.1
        Dropout on the output representation during training.
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of the layers. ``"bfloat16"`` runs them under
        :func:`torch.autocast` (weights and gradients stay float32) and returns
        float32 representations; it is several times faster where the hardware
        has bfloat16 matrix units (CUDA GPUs from Ampere on, CPUs with AVX-512
        BF16 or AMX).
    output_block : bool, default=True
        Whether the output block comes after the ``depth`` hidden blocks.
        ``False`` rebuilds encoders fitted by tscc before it followed the paper
        here: ``depth`` blocks in all, the last of them the output block.
    feature_norm : {None, "l2"}, default=None
        Scaling of the series features that :meth:`pool` returns: ``None``
        keeps the max-pooled representation (the paper's), ``"l2"`` scales it
        to unit length. It has no weights, so it changes nothing in the
        per-timestamp output or in the contrastive loss.
    pooling : {"max", "mean"}, default="max"
        How :meth:`pool` makes one feature vector of a series' per-timestamp
        representations: their maximum over time (the paper's), or their
        mean, which keeps how much of the series is active, not only how
        strongly its most active moment is. No weights either.

    Attributes
    ----------
    recompute_blocks : bool
        When True, a forward pass with gradients keeps only each block's input
        and recomputes the block in the backward pass: the memory of the
        activations falls several times, for about a third more time per step,
        and the results do not change. The training loop sets it for large
        steps (:func:`~tscc.training.recompute_blocks`).

    Notes
    -----
    NaN in the input marks a missing timestamp: every channel of that timestamp
    is treated as missing, and its projection is zeroed, as in TS2Vec.
    """

    def __init__(
        self,
        input_dims,
        repr_dims=32,
        hidden_dims=64,
        depth=10,
        mask_prob=0.5,
        dropout=0.1,
        precision="float32",
        output_block=True,
        feature_norm=None,
        pooling="max",
    ):
        super().__init__()
        if feature_norm not in FEATURE_NORMS:
            raise ValueError(
                f"feature_norm={feature_norm!r} is not one of {FEATURE_NORMS}."
            )
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r} is not one of {POOLINGS}.")
        self.feature_norm = feature_norm
        self.pooling = pooling
        if precision not in PRECISIONS:
            raise ValueError(
                f"precision={precision!r} is not one of {sorted(PRECISIONS)}."
            )
        self.mask_prob = mask_prob
        self.precision = precision
        self.input_fc = nn.Linear(input_dims, hidden_dims)
        n_hidden = depth if output_block else depth - 1
        channels = [hidden_dims] * n_hidden + [repr_dims]
        blocks = []
        in_channels = hidden_dims
        for i, out_channels in enumerate(channels):
            blocks.append(
                DilatedConvBlock(
                    in_channels,
                    out_channels,
                    dilation=2**i,
                    project_residual=i == len(channels) - 1,
                )
            )
            in_channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.repr_dropout = nn.Dropout(p=dropout)
        #: Recompute each block's activations in the backward pass instead of
        #: keeping them (training only): a switch of the training loop, not
        #: of the weights, so it changes no result (see ``recompute_blocks``).
        self.recompute_blocks = False

    def forward(self, x, mask=None, generator=None):
        """Encode a batch of series.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_timestamps, input_dims)
            Input series; NaN marks missing timestamps. Not modified.
        mask : {"random", None} or torch.Tensor of shape (batch, n_timestamps)
            ``"random"`` draws a Bernoulli timestamp mask from ``generator``;
            ``None`` keeps every observed timestamp; a boolean tensor is used
            as given (``True`` keeps).
        generator : torch.Generator, default=None
            Generator for the random mask.

        Returns
        -------
        z : torch.Tensor of shape (batch, n_timestamps, repr_dims)
            float32, whatever the ``precision``.
        """
        if self.precision == "float32":
            return self._encode(x, mask, generator)
        with torch.autocast(x.device.type, dtype=PRECISIONS[self.precision]):
            z = self._encode(x, mask, generator)
        return z.float()

    def pool(self, z, observed):
        """Features of whole series: ``z`` pooled over observed timestamps.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_timestamps, repr_dims)
            Output of :meth:`forward`.
        observed : torch.Tensor of shape (batch, n_timestamps), dtype bool

        Returns
        -------
        features : torch.Tensor of shape (batch, repr_dims)
            Scaled to unit length when ``feature_norm="l2"``.
        """
        if self.pooling == "mean":
            features = mean_pool_observed(z, observed)
        else:
            features = max_pool_observed(z, observed)
        if self.feature_norm == "l2":
            features = F.normalize(features, dim=-1)
        return features

    def _encode(self, x, mask, generator):
        observed = ~torch.isnan(x).any(dim=-1)  # B x T
        x = x.masked_fill(~observed.unsqueeze(-1), 0.0)
        h = self.input_fc(x)  # B x T x H
        if isinstance(mask, str):
            mask = timestamp_mask(
                h.shape[0], h.shape[1], self.mask_prob, generator, h.device
            )
        keep = observed if mask is None else observed & mask
        h = h * keep.unsqueeze(-1).to(h.dtype)
        return self.repr_dropout(self._blocks(h))  # B x T x R

    def _blocks(self, h):
        if not (self.recompute_blocks and torch.is_grad_enabled()):
            return self.blocks(h)
        # Only each block's input is kept for backward; its inner activations
        # (GELUs, the taps of both convolutions) are computed again there.
        # The blocks draw no random numbers, so the recomputation is exact.
        for block in self.blocks:
            h = checkpoint(block, h, use_reentrant=False, preserve_rng_state=False)
        return h


def rebuild_encoder(encoder_kwargs, state_dict, device):
    """A :class:`TSEncoder` with fitted weights, in evaluation mode on ``device``.

    The one way tscc rebuilds an encoder: after pretraining, on unpickling and
    on loading a model file.

    Parameters
    ----------
    encoder_kwargs : dict
        Arguments of :class:`TSEncoder`, as a fitted estimator records them
        (``encoder_kwargs_``; models saved by older versions are brought up
        to date when they are loaded, :func:`tscc.persistence.upgrade_state`).
    state_dict : dict of str to torch.Tensor
        The fitted weights, on any device.
    device : torch.device or str
        Device to put the encoder on.

    Returns
    -------
    encoder : TSEncoder

    Examples
    --------
    >>> import torch
    >>> from tscc.encoder import TSEncoder, rebuild_encoder
    >>> kwargs = {"input_dims": 1, "hidden_dims": 4, "depth": 1, "output_block": True}
    >>> fitted = TSEncoder(**kwargs)
    >>> copy = rebuild_encoder(kwargs, fitted.state_dict(), "cpu")
    >>> len(copy.blocks), copy.training
    (2, False)
    >>> x = torch.randn(3, 10, 1)
    >>> torch.equal(copy(x), fitted.eval()(x))
    True
    """
    # The initial weights are overwritten: their draws must not move the
    # caller's global RNG.
    with torch.random.fork_rng(devices=[]):
        encoder = TSEncoder(**encoder_kwargs)
    encoder.load_state_dict(state_dict)
    return encoder.to(device).eval()


def receptive_depth(n_timestamps):
    """Fewest hidden blocks whose encoder's receptive field covers a series.

    Block ``i`` holds two kernel-3 convolutions of dilation ``2**i``, and the
    encoder has ``depth + 1`` blocks (the hidden ones and the output block), so
    it sees ``1 + 4 * (2**(depth + 1) - 1)`` timestamps; more blocks add no
    context, only layers applied to each timestamp on its own.

    Parameters
    ----------
    n_timestamps : int
        Length of the series.

    Returns
    -------
    depth : int
        At least 0 (the output block alone).

    Examples
    --------
    >>> from tscc.encoder import receptive_depth
    >>> receptive_depth(500), receptive_depth(150), receptive_depth(1)
    (6, 5, 0)
    """
    depth = 0
    while 1 + 4 * (2 ** (depth + 1) - 1) < n_timestamps:
        depth += 1
    return depth
