import copy

import pytest
import torch
import torch.nn.functional as F

from tscc.encoder import (
    DilatedConv1d,
    DilatedConvBlock,
    TSEncoder,
    max_pool_observed,
    rebuild_encoder,
    timestamp_mask,
)


def _reference_conv(conv, x):
    """The same convolution through torch's own conv1d on channels-first input."""
    d = conv.dilation[0]
    y = F.conv1d(x.transpose(1, 2), conv.weight, conv.bias, padding=d, dilation=d)
    return y.transpose(1, 2)


def _make_conv(dilation, in_channels=3, out_channels=4, seed=0):
    torch.manual_seed(seed)
    return DilatedConv1d(in_channels, out_channels, dilation)


@pytest.mark.parametrize("dilation", [1, 2, 4, 8])
def test_dilated_conv_matches_conv1d_for_all_lengths(dilation):
    conv = _make_conv(dilation)
    gen = torch.Generator().manual_seed(dilation)
    for n_timestamps in range(1, 21):
        x = torch.randn(2, n_timestamps, 3, generator=gen)
        y = conv(x)
        expected = _reference_conv(conv, x)
        assert y.shape == (2, n_timestamps, 4)
        torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dilation", [1, 2, 4, 8])
@pytest.mark.parametrize("n_timestamps", [1, 3, 8, 13])
def test_dilated_conv_gradients_match_conv1d(dilation, n_timestamps):
    conv = _make_conv(dilation)
    gen = torch.Generator().manual_seed(100 + n_timestamps)
    x = torch.randn(2, n_timestamps, 3, generator=gen)
    upstream = torch.randn(2, n_timestamps, 4, generator=gen)

    x1 = x.clone().requires_grad_(True)
    (conv(x1) * upstream).sum().backward()
    grads = (x1.grad, conv.weight.grad.clone(), conv.bias.grad.clone())

    conv.zero_grad()
    x2 = x.clone().requires_grad_(True)
    (_reference_conv(conv, x2) * upstream).sum().backward()
    expected = (x2.grad, conv.weight.grad, conv.bias.grad)

    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def _autograd_taps_conv(conv, x):
    """The convolution as pad, cat and linear, differentiated by autograd."""
    d = conv.dilation[0]
    n = x.shape[1]
    padded = F.pad(x, (0, 0, d, d))
    taps = torch.cat([padded[:, :n], x, padded[:, 2 * d :]], dim=-1)
    weight = conv.weight.permute(0, 2, 1).reshape(conv.out_channels, -1)
    return F.linear(taps, weight, conv.bias)


@pytest.mark.parametrize(
    "precision, dtype",
    [
        ("float32", torch.float32),
        ("bfloat16", torch.bfloat16),  # as in the encoder's blocks
        ("bfloat16", torch.float32),  # float32 input under autocast
    ],
)
@pytest.mark.parametrize("dilation", [1, 4, 16])
def test_dilated_conv_gradients_are_bit_identical_to_autograds(
    precision, dtype, dilation
):
    # the custom backward must not move any result of training
    conv = _make_conv(dilation, in_channels=16, out_channels=16)
    gen = torch.Generator().manual_seed(dilation)
    x = torch.randn(4, 40, 16, generator=gen).to(dtype)
    upstream = torch.randn(4, 40, 16, generator=gen)
    results = []
    for forward in (conv, lambda x: _autograd_taps_conv(conv, x)):
        conv.zero_grad()
        leaf = x.clone().requires_grad_(True)
        with torch.autocast("cpu", torch.bfloat16, enabled=precision == "bfloat16"):
            y = forward(leaf)
        (y.float() * upstream).sum().backward()
        results.append((y, leaf.grad, conv.weight.grad.clone(), conv.bias.grad.clone()))
    for got, want in zip(*results, strict=True):
        assert got.dtype == want.dtype
        assert torch.equal(got, want)


def _saved_bytes(forward, x):
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        forward(x)
    return sum(storages.values())


def test_dilated_conv_keeps_its_input_not_the_three_taps_for_backward():
    conv = _make_conv(2, in_channels=16, out_channels=16)
    x = torch.randn(4, 40, 16, requires_grad=True)
    kept = _saved_bytes(conv, x)
    by_autograd = _saved_bytes(lambda x: _autograd_taps_conv(conv, x), x)
    assert kept < 0.5 * by_autograd


def test_dilated_conv_has_the_parameters_of_conv1d():
    conv = DilatedConv1d(3, 5, dilation=4)
    assert conv.weight.shape == (5, 3, 3)
    assert conv.bias.shape == (5,)
    assert conv.dilation == (4,)
    assert conv.padding == (4,)


def test_dilated_conv_does_not_modify_input():
    conv = _make_conv(2)
    x = torch.randn(2, 7, 3)
    before = x.clone()
    conv(x)
    assert torch.equal(x, before)


def test_block_matches_reference_and_projects_residual():
    torch.manual_seed(0)
    block = DilatedConvBlock(3, 5, dilation=2)
    assert block.projector is not None
    x = torch.randn(2, 9, 3)
    h = _reference_conv(block.conv1, F.gelu(x))
    h = _reference_conv(block.conv2, F.gelu(h))
    expected = h + block.projector(x)
    torch.testing.assert_close(block(x), expected, atol=1e-5, rtol=1e-5)

    same = DilatedConvBlock(4, 4, dilation=1)
    assert same.projector is None
    assert DilatedConvBlock(4, 4, dilation=1, project_residual=True).projector


def _encoder(depth=2, input_dims=2, seed=0, **kwargs):
    torch.manual_seed(seed)
    kwargs.setdefault("hidden_dims", 8)
    kwargs.setdefault("repr_dims", 5)
    return TSEncoder(input_dims, depth=depth, **kwargs)


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("n_timestamps", [1, 2, 7])
def test_encoder_output_shape(depth, n_timestamps):
    encoder = _encoder(depth=depth).eval()
    x = torch.randn(3, n_timestamps, 2)
    z = encoder(x)
    assert z.shape == (3, n_timestamps, 5)
    assert torch.isfinite(z).all()


def test_encoder_has_depth_hidden_blocks_and_an_output_block():
    # The paper's code and TS2Vec: channels [hidden_dims] * depth + [repr_dims]
    encoder = _encoder(depth=3)
    assert [b.conv1.dilation[0] for b in encoder.blocks] == [1, 2, 4, 8]
    assert [b.conv2.out_channels for b in encoder.blocks] == [8, 8, 8, 5]
    assert [b.projector is not None for b in encoder.blocks] == [0, 0, 0, 1]


def test_encoder_without_output_block_has_the_legacy_layout():
    encoder = _encoder(depth=3, output_block=False)
    assert [b.conv1.dilation[0] for b in encoder.blocks] == [1, 2, 4]
    assert [b.conv2.out_channels for b in encoder.blocks] == [8, 8, 5]
    assert [b.projector is not None for b in encoder.blocks] == [0, 0, 1]


def test_depth_zero_is_the_output_block_alone():
    encoder = _encoder(depth=0).eval()
    assert len(encoder.blocks) == 1
    assert encoder(torch.randn(2, 4, 2)).shape == (2, 4, 5)


@pytest.mark.parametrize("output_block", [True, False])
def test_rebuild_encoder_restores_weights_and_leaves_the_global_rng(output_block):
    kwargs = {"input_dims": 2, "hidden_dims": 8, "repr_dims": 5, "depth": 2}
    fitted = TSEncoder(**kwargs, output_block=output_block).eval()
    recorded = {**kwargs, "output_block": output_block}
    rng_state = torch.random.get_rng_state()
    rebuilt = rebuild_encoder(recorded, fitted.state_dict(), "cpu")
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    assert not rebuilt.training
    x = torch.randn(3, 9, 2)
    assert torch.equal(rebuilt(x), fitted(x))


def test_encoder_does_not_modify_input_including_nan():
    encoder = _encoder().eval()
    x = torch.randn(2, 6, 2)
    x[0, 2, 1] = float("nan")
    x[1, 4:] = float("nan")
    before = x.clone()
    encoder(x)
    encoder(x, mask="random", generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.isnan(x), torch.isnan(before))
    assert torch.equal(torch.nan_to_num(x), torch.nan_to_num(before))


def test_nan_timestamp_equals_explicitly_masked_timestamp():
    encoder = _encoder(depth=3).eval()
    x = torch.randn(2, 7, 2)
    with_nan = x.clone()
    with_nan[0, 3, 0] = float("nan")  # one channel NaN: the whole timestamp
    with_nan[1, 5:] = float("nan")
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[0, 3] = False
    mask[1, 5:] = False

    z_nan = encoder(with_nan)
    z_masked = encoder(x, mask=mask)
    assert torch.isfinite(z_nan).all()
    torch.testing.assert_close(z_nan, z_masked, atol=1e-6, rtol=0)
    # the value hidden behind a masked timestamp does not matter
    other = x.clone()
    other[0, 3] = 1e3
    torch.testing.assert_close(encoder(other, mask=mask), z_masked, atol=1e-6, rtol=0)


def test_eval_mode_is_deterministic_and_dropout_off():
    encoder = _encoder(dropout=0.5).eval()
    x = torch.randn(4, 9, 2)
    z1 = encoder(x)
    z2 = encoder(x)
    assert torch.equal(z1, z2)

    no_dropout = copy.deepcopy(encoder)
    no_dropout.repr_dropout.p = 0.0
    no_dropout.train()
    assert torch.equal(no_dropout(x), z1)

    encoder.train()
    torch.manual_seed(0)
    z_train = encoder(x)
    assert not torch.equal(z_train, z1)
    assert (z_train == 0).float().mean() > 0.2  # dropout zeroes entries


def test_random_mask_reproducible_with_seeded_generator():
    encoder = _encoder().eval()
    x = torch.randn(3, 10, 2)
    z1 = encoder(x, mask="random", generator=torch.Generator().manual_seed(7))
    z2 = encoder(x, mask="random", generator=torch.Generator().manual_seed(7))
    z3 = encoder(x, mask="random", generator=torch.Generator().manual_seed(8))
    assert torch.equal(z1, z2)
    assert not torch.equal(z1, z3)
    assert not torch.allclose(z1, encoder(x))


def test_random_mask_equals_explicit_mask_from_same_generator():
    encoder = _encoder(mask_prob=0.3).eval()
    x = torch.randn(3, 10, 2)
    z = encoder(x, mask="random", generator=torch.Generator().manual_seed(3))
    mask = timestamp_mask(3, 10, 0.3, torch.Generator().manual_seed(3))
    torch.testing.assert_close(z, encoder(x, mask=mask), atol=1e-6, rtol=0)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_timestamp_mask_keep_fraction(p):
    mask = timestamp_mask(200, 500, p, torch.Generator().manual_seed(0))
    assert mask.shape == (200, 500)
    assert mask.dtype == torch.bool
    assert abs(mask.float().mean().item() - p) < 0.01


def test_timestamp_mask_seeded_reproducible():
    a = timestamp_mask(4, 30, generator=torch.Generator().manual_seed(1))
    b = timestamp_mask(4, 30, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_pool_scales_features_to_unit_length_only_with_l2():
    torch.manual_seed(0)
    z = torch.randn(4, 7, 5)
    observed = torch.ones(4, 7, dtype=torch.bool)
    observed[0, 3:] = False
    pooled = TSEncoder(1, repr_dims=5, depth=1).pool(z, observed)
    torch.testing.assert_close(pooled, max_pool_observed(z, observed))
    unit = TSEncoder(1, repr_dims=5, depth=1, feature_norm="l2").pool(z, observed)
    torch.testing.assert_close(unit, F.normalize(pooled, dim=-1))
    torch.testing.assert_close(unit.norm(dim=-1), torch.ones(4))


def test_feature_norm_adds_no_weights_and_is_validated():
    plain, unit = TSEncoder(1, depth=1), TSEncoder(1, depth=1, feature_norm="l2")
    assert plain.state_dict().keys() == unit.state_dict().keys()
    with pytest.raises(ValueError, match="feature_norm"):
        TSEncoder(1, depth=1, feature_norm="l1")


def test_mean_pooling_averages_the_observed_timestamps():
    from tscc.encoder import mean_pool_observed

    z = torch.arange(12, dtype=torch.float32).reshape(2, 3, 2)
    observed = torch.tensor([[True, False, True], [False, False, False]])
    pooled = mean_pool_observed(z, observed)
    torch.testing.assert_close(pooled[0], (z[0, 0] + z[0, 2]) / 2)
    torch.testing.assert_close(pooled[1], z[1].mean(dim=0))  # none observed: all
    encoder = TSEncoder(1, repr_dims=2, depth=1, pooling="mean")
    torch.testing.assert_close(encoder.pool(z, observed), pooled)
    with pytest.raises(ValueError, match="pooling"):
        TSEncoder(1, depth=1, pooling="median")
