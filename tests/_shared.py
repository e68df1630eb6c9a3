"""Small estimator settings and data shared by several test modules."""

import numpy as np

TINY = dict(
    repr_dims=8,
    hidden_dims=8,
    depth=2,
    pretrain_epochs=1,
    finetune_epochs=1,
    batch_size=8,
    n_init=2,
    device="cpu",
    random_state=0,
)

# Arguments of a TSEncoder small enough for the training tests.
TINY_ENCODER = {
    "input_dims": 1,
    "repr_dims": 4,
    "hidden_dims": 4,
    "depth": 1,
    "output_block": True,
}


def two_shapes(n_per_class=12, n_timestamps=24, n_channels=None, seed=0):
    """Noisy sines and noisy square waves: an easy two-cluster problem."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n_timestamps)
    sines = np.sin(2 * np.pi * 2 * t) + 0.1 * rng.normal(size=(n_per_class, t.size))
    squares = np.sign(np.sin(2 * np.pi * 6 * t)) + 0.1 * rng.normal(
        size=(n_per_class, t.size)
    )
    X = np.vstack([sines, squares])
    y = np.repeat([0, 1], n_per_class)
    if n_channels is not None:
        X = np.stack([X * (c + 1) for c in range(n_channels)], axis=-1)
    return X, y


def seismic_trace(
    obspy, component, start, n, *, rate, station="STA", seed=0, dtype=np.float64
):
    """An ObsPy trace of noise, channel HH<component> of XX.<station>."""
    data = np.random.default_rng(seed).normal(size=n).astype(dtype)
    return obspy.Trace(
        data,
        header={
            "network": "XX",
            "station": station,
            "channel": f"HH{component}",
            "sampling_rate": rate,
            "starttime": obspy.UTCDateTime(2020, 1, 1) + start,
        },
    )


def tiny_settings(**overrides):
    """:class:`~tscc.settings.TrainingSettings` of a tiny encoder, for unit tests."""
    from tscc.settings import TrainingSettings

    values = {
        "n_channels": TINY_ENCODER["input_dims"],
        "repr_dims": TINY_ENCODER["repr_dims"],
        "hidden_dims": TINY_ENCODER["hidden_dims"],
        "depth": TINY_ENCODER["depth"],
        "precision": "float32",
        "batch_size": 8,
        "temporal_unit": 0,
        "max_train_length": None,
        "device": "cpu",
        "seed": 0,
        "pretrain_epochs": 2,
        "lr": 1e-3,
        "n_clusters": 2,
        "n_init": 2,
        "finetune_epochs": 4,
        "finetune_lr": 1e-3,
        "m": 1.5,
        "cluster_loss": "fcm",
        "cluster_weight": 1.0,
        "cluster_fraction": 1.0,
        "center_update_interval": 2,
        "tol": 0.0,
        **overrides,
    }
    return TrainingSettings(**values)
