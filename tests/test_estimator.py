"""Behaviour of TSCCClusterer: API, determinism, input handling, devices."""

import numpy as np
import pytest
import torch
from _shared import TINY, two_shapes
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import tscc.training
from tscc import TSCCClusterer

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module")
def data():
    return two_shapes()


@pytest.fixture(scope="module")
def fitted(data):
    X, _ = data
    return TSCCClusterer(**TINY).fit(X)


# ----------------------------------------------------------------- outputs


def test_fitted_attributes(fitted, data):
    X, _ = data
    assert fitted.labels_.shape == (X.shape[0],)
    assert fitted.labels_.dtype == np.int64
    assert set(fitted.labels_) <= {0, 1}
    assert fitted.cluster_centers_.shape == (2, TINY["repr_dims"])
    assert fitted.n_features_in_ == X.shape[1]
    assert fitted.n_channels_in_ == 1
    assert fitted.device_ == "cpu"
    assert isinstance(fitted.encoder_, torch.nn.Module)
    assert not fitted.encoder_.training


def test_history_records_every_epoch_with_finite_losses(data):
    X, _ = data
    est = TSCCClusterer(**{**TINY, "pretrain_epochs": 2, "finetune_epochs": 3}).fit(X)
    assert [h["phase"] for h in est.history_] == ["pretrain"] * 2 + ["finetune"] * 3
    assert [h["epoch"] for h in est.history_] == [1, 2, 1, 2, 3]
    assert est.n_iter_ == 3
    for entry in est.history_:
        assert np.isfinite(entry["contrastive"]) and entry["seconds"] >= 0
    assert all(h["cluster"] == 0 for h in est.history_[:2])
    assert all(h["cluster"] > 0 for h in est.history_[2:])


def test_methods_agree(fitted, data):
    X, _ = data
    proba = fitted.predict_proba(X)
    assert proba.shape == (X.shape[0], 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba >= 0).all()
    np.testing.assert_array_equal(fitted.predict(X), proba.argmax(axis=1))
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)
    features = fitted.transform(X)
    assert features.shape == (X.shape[0], TINY["repr_dims"])
    assert np.isfinite(features).all()
    assert np.isfinite(fitted.score(X)) and fitted.score(X) <= 0


def test_fit_predict_and_fit_transform_match_separate_calls(data):
    X, _ = data
    est = TSCCClusterer(**TINY)
    np.testing.assert_array_equal(est.fit_predict(X), clone(est).fit(X).labels_)
    np.testing.assert_array_equal(est.fit_transform(X), clone(est).fit(X).transform(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_transform_dtype_follows_input(data, dtype):
    X, _ = data
    est = TSCCClusterer(**TINY).fit((X * 10).astype(dtype))
    expected = np.float32 if dtype == np.float32 else np.float64
    assert est.transform((X * 10).astype(dtype)).dtype == expected
    assert est.predict_proba(X).dtype == np.float64


def test_predict_on_one_series_matches_batch(fitted, data):
    X, _ = data
    full = fitted.transform(X)
    np.testing.assert_array_equal(fitted.transform(X[5:6]), full[5:6])
    order = np.random.default_rng(1).permutation(X.shape[0])
    np.testing.assert_array_equal(fitted.transform(X[order]), full[order])


def test_easy_problem_is_clustered(data):
    X, y = data
    est = TSCCClusterer(**{**TINY, "pretrain_epochs": 3, "finetune_epochs": 2})
    assert adjusted_rand_score(y, est.fit_predict(X)) > 0.8


# ------------------------------------------------------------ determinism


def test_same_random_state_gives_identical_results(data):
    X, _ = data
    a = TSCCClusterer(**TINY).fit(X)
    b = TSCCClusterer(**TINY).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert [h["contrastive"] for h in a.history_] == [
        h["contrastive"] for h in b.history_
    ]


def test_different_random_state_gives_different_model(data):
    X, _ = data
    a = TSCCClusterer(**TINY).fit(X)
    b = TSCCClusterer(**{**TINY, "random_state": 1}).fit(X)
    assert not np.array_equal(a.transform(X), b.transform(X))


def test_fit_leaves_global_torch_state_alone(data):
    X, _ = data
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    with torch.no_grad():
        TSCCClusterer(**TINY).fit(X)
        assert not torch.is_grad_enabled()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.get_num_threads() == threads


def test_fit_never_looks_at_y(data):
    X, y = data
    reference = TSCCClusterer(**TINY).fit(X).transform(X)
    for labels in (y, y[::-1].copy(), np.zeros_like(y)):
        np.testing.assert_array_equal(
            TSCCClusterer(**TINY).fit(X, labels).transform(X), reference
        )


# --------------------------------------------------------------- training


def test_batch_size_larger_than_data(data):
    X, _ = data
    est = TSCCClusterer(**{**TINY, "batch_size": 1000}).fit(X)
    assert est.labels_.shape == (X.shape[0],)


def test_clustering_loss_trains_the_encoder(data):
    X, _ = data
    # Same seed, same random draws: only the clustering gradient differs.
    without = TSCCClusterer(**{**TINY, "cluster_weight": 0.0}).fit(X)
    with_loss = TSCCClusterer(**{**TINY, "cluster_weight": 1.0}).fit(X)
    assert not np.array_equal(without.transform(X), with_loss.transform(X))
    assert without.history_[0]["contrastive"] == with_loss.history_[0]["contrastive"]


def test_no_finetuning_keeps_kmeans_centres(data):
    X, _ = data
    est = TSCCClusterer(**{**TINY, "finetune_epochs": 0}).fit(X)
    assert [h["phase"] for h in est.history_] == ["pretrain"]
    distances = ((est.transform(X)[:, None] - est.cluster_centers_) ** 2).sum(-1)
    np.testing.assert_array_equal(est.labels_, distances.argmin(axis=1))


def test_verbose_prints_each_epoch(data, capsys):
    X, _ = data
    TSCCClusterer(**{**TINY, "verbose": 2}).fit(X)  # 1 shows a bar where tqdm is
    out = capsys.readouterr().out
    assert "pretrain epoch 1/1" in out
    assert "finetune epoch 1/1" in out and "cluster=" in out
    TSCCClusterer(**TINY).fit(X)
    assert capsys.readouterr() == ("", "")


# ------------------------------------------------------------------ input


def test_multichannel_series():
    X, y = two_shapes(n_channels=3)
    est = TSCCClusterer(**TINY).fit(X)
    assert est.n_channels_in_ == 3
    assert est.transform(X).shape == (X.shape[0], TINY["repr_dims"])
    with pytest.raises(ValueError, match="2 channels"):
        est.predict(X[:, :, :2])


def test_univariate_2d_and_3d_input_agree(data, fitted):
    X, _ = data
    np.testing.assert_array_equal(fitted.transform(X), fitted.transform(X[:, :, None]))


def test_nan_padded_variable_length_series(data):
    X, _ = data
    X = X.copy()
    X[::3, 15:] = np.nan  # a third of the series are shorter
    X[1, 4] = np.nan  # a missing timestamp in the middle
    original = X.copy()
    est = TSCCClusterer(**TINY).fit(X)
    np.testing.assert_array_equal(X, original)  # caller's array untouched
    assert np.isfinite(est.transform(X)).all()
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)


def test_input_array_is_not_modified(data):
    X, _ = data
    X = X.astype(np.float32)
    original = X.copy()
    est = TSCCClusterer(**TINY).fit(X)
    est.predict(X)
    np.testing.assert_array_equal(X, original)


@pytest.mark.parametrize("n_timestamps", [1, 2, 3])
def test_very_short_series(n_timestamps):
    X = np.random.default_rng(0).normal(size=(10, n_timestamps))
    est = TSCCClusterer(**TINY).fit(X)
    assert np.isfinite(est.transform(X)).all()


def test_list_and_dataframe_input(data):
    pd = pytest.importorskip("pandas")
    X, _ = data
    from_list = TSCCClusterer(**TINY).fit(X.tolist())
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    from_frame = TSCCClusterer(**TINY).fit(frame)
    np.testing.assert_array_equal(from_list.labels_, from_frame.labels_)
    assert list(from_frame.feature_names_in_) == list(frame.columns)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.ones((5, 4, 1, 1)), "4 dimensions"),
        (np.ones(5), "Expected 2D array"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "infinity"),
        (np.ones((1, 6)), "1 sample"),
        (np.ones((3, 6, 0)), "0 channels"),
        (np.array([[np.nan, np.nan], [1.0, 2.0], [3.0, 1.0]]), "no observed timestamp"),
    ],
)
def test_bad_input_raises_clear_error(X, message):
    with pytest.raises(ValueError, match=message):
        TSCCClusterer(**TINY).fit(X)


def test_fewer_samples_than_clusters():
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=4"):
        TSCCClusterer(**{**TINY, "n_clusters": 4}).fit(np.ones((3, 8)))


def test_predict_with_other_length_raises(fitted, data):
    X, _ = data
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :10])


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TSCCClusterer().predict(np.ones((2, 5)))


@pytest.mark.parametrize(
    "params",
    [
        {"m": 1.0},
        {"m": 0.5},
        {"n_clusters": 0},
        {"batch_size": 0},
        {"pretrain_epochs": -1},
        {"lr": 0.0},
        {"max_train_length": 1},
        {"device": 3},
    ],
)
def test_bad_parameters_raise(data, params):
    X, _ = data
    with pytest.raises(ValueError):
        TSCCClusterer(**{**TINY, **params}).fit(X)


def test_max_train_length_shorter_than_crop_overlap(data):
    X, _ = data
    with pytest.raises(ValueError, match="max_train_length=4"):
        TSCCClusterer(**{**TINY, "max_train_length": 4, "temporal_unit": 2}).fit(X)


def test_long_series_are_cut_for_training(data):
    X, _ = data
    est = TSCCClusterer(**{**TINY, "max_train_length": 8}).fit(X)
    assert est.transform(X).shape == (X.shape[0], TINY["repr_dims"])


# ----------------------------------------------------------------- device


def test_unknown_device_is_a_clear_error(data):
    X, _ = data
    with pytest.raises(ValueError, match="not a valid device"):
        TSCCClusterer(**{**TINY, "device": "gpu0"}).fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_a_clear_error(data, device):
    X, _ = data
    with pytest.raises(ValueError, match="CUDA is not available"):
        TSCCClusterer(**{**TINY, "device": device}).fit(X)


def test_auto_device_resolves(data):
    X, _ = data
    est = TSCCClusterer(**{**TINY, "device": "auto"}).fit(X)
    assert est.device_ == ("cuda:0" if torch.cuda.is_available() else "cpu")
    assert est.device == "auto"  # the parameter itself is never overwritten


# ------------------------------------------------------- scikit-learn glue


def test_clone_keeps_parameters_and_drops_fit(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "labels_")


def test_pipeline_with_scaler_and_feature_probe(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), TSCCClusterer(**TINY))
    assert pipe.fit_predict(X).shape == y.shape
    probe = make_pipeline(TSCCClusterer(**TINY), SVC()).fit(X, y)
    assert probe.score(X, y) > 0.8


def test_grid_search_with_labels_and_without(data):
    X, y = data
    grid = {"n_clusters": [2, 3]}
    search = GridSearchCV(
        TSCCClusterer(**TINY), grid, scoring="adjusted_rand_score", cv=2
    ).fit(X, y)
    assert search.best_params_["n_clusters"] in (2, 3)
    unsupervised = GridSearchCV(TSCCClusterer(**TINY), {"m": [1.5, 2.0]}, cv=2)
    unsupervised.fit(X)
    assert np.isfinite(unsupervised.best_score_)


def test_feature_names_out(fitted):
    names = fitted.get_feature_names_out()
    assert list(names) == [f"tsccclusterer{i}" for i in range(TINY["repr_dims"])]


# ------------------------------------------------- speed-related parameters


def test_depth_auto_covers_the_series(data):
    X, _ = data  # 24 timestamps
    est = TSCCClusterer(**{**TINY, "depth": "auto"}).fit(X)
    # 3 blocks: 1 + 4 * (2**3 - 1) = 29 >= 24 > 13 = 1 + 4 * (2**2 - 1)
    assert est.depth_ == 2
    assert len(est.encoder_.blocks) == 3
    assert TSCCClusterer(**TINY).fit(X).depth_ == TINY["depth"]


def count_pretraining_epochs(monkeypatch):
    calls = []
    original = tscc.training.train_epoch

    def spy(*args, **kwargs):
        if kwargs.get("centers") is None:
            calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(tscc.training, "train_epoch", spy)
    return calls


def test_memory_caches_pretraining(data, tmp_path, monkeypatch):
    X, _ = data
    plain = TSCCClusterer(**TINY).fit(X)
    calls = count_pretraining_epochs(monkeypatch)
    cached = TSCCClusterer(**{**TINY, "memory": str(tmp_path)})
    first = clone(cached).fit(X)
    assert len(calls) == TINY["pretrain_epochs"]
    second = clone(cached).set_params(m=2.0, cluster_weight=0.5).fit(X)
    assert len(calls) == TINY["pretrain_epochs"]  # loaded, not recomputed
    assert second.history_[0] == first.history_[0]
    # a cached pretraining gives exactly the model of an uncached one
    np.testing.assert_array_equal(first.transform(X), plain.transform(X))
    np.testing.assert_array_equal(first.labels_, plain.labels_)
    clone(cached).set_params(lr=5e-3).fit(X)  # a pretraining parameter changed
    assert len(calls) == 2 * TINY["pretrain_epochs"]


def test_waveform_augment_is_reproducible_and_keys_the_cache(
    data, tmp_path, monkeypatch
):
    X, _ = data
    plain = TSCCClusterer(**TINY).fit(X)
    augmented = TSCCClusterer(**{**TINY, "augment": "waveform"})
    first, second = clone(augmented).fit(X), clone(augmented).fit(X)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    assert not np.array_equal(first.transform(X), plain.transform(X))
    calls = count_pretraining_epochs(monkeypatch)
    cached = TSCCClusterer(**{**TINY, "memory": str(tmp_path)})
    clone(cached).fit(X)
    from_cache = clone(cached).set_params(augment="waveform").fit(X)
    # another pretraining, not the one cached without augmentation
    assert len(calls) == 2 * TINY["pretrain_epochs"]
    np.testing.assert_array_equal(from_cache.transform(X), first.transform(X))


def test_grid_search_pretrains_once_per_fold_with_memory(data, tmp_path, monkeypatch):
    X, y = data
    calls = count_pretraining_epochs(monkeypatch)
    est = TSCCClusterer(**{**TINY, "memory": str(tmp_path)})
    grid = {"n_clusters": [2, 3], "m": [1.5, 2.0]}
    GridSearchCV(est, grid, scoring="adjusted_rand_score", cv=2).fit(X, y)
    # 2 folds + the refit on all data, instead of 4 candidates x 2 folds + 1
    assert len(calls) == 3 * TINY["pretrain_epochs"]


def test_interrupted_pretraining_is_not_cached(data, tmp_path, monkeypatch):
    X, _ = data
    original = tscc.training.train_epoch
    state = {"interrupt": True}

    def interrupt_once(*args, **kwargs):
        if state.pop("interrupt", False):
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(tscc.training, "train_epoch", interrupt_once)
    est = TSCCClusterer(**{**TINY, "memory": str(tmp_path)})
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X)
    assert est.history_ == []
    refit = clone(est).fit(X)
    assert [h["phase"] for h in refit.history_] == ["pretrain", "finetune"]


def test_tol_and_center_update_interval_reach_finetuning(data):
    X, _ = data
    # tol=1: "fewer than 100% of the labels changed" holds at the first update
    params = {**TINY, "finetune_epochs": 6, "center_update_interval": 2, "tol": 1.0}
    early = TSCCClusterer(**params).fit(X)
    assert early.n_iter_ == 2
    assert [h["phase"] for h in early.history_].count("finetune") == 2


def test_cluster_loss_changes_only_finetuning(data):
    X, _ = data
    fcm = TSCCClusterer(**{**TINY, "cluster_weight": 1.0, "cluster_loss": "fcm"}).fit(X)
    ratio = TSCCClusterer(
        **{**TINY, "cluster_weight": 1.0, "cluster_loss": "fcm_ratio"}
    ).fit(X)
    first_fcm, first_ratio = fcm.history_[0], ratio.history_[0]
    assert first_fcm["contrastive"] == first_ratio["contrastive"]
    assert not np.array_equal(fcm.transform(X), ratio.transform(X))
    assert ratio.history_[-1]["cluster"] != fcm.history_[-1]["cluster"]


@pytest.mark.parametrize(
    "cluster_loss, weight, expected",
    [("fcm_ratio", "auto", 1.0), ("fcm", "auto", 0.1), ("fcm", 0.5, 0.5)],
)
def test_auto_cluster_weight_depends_on_the_loss(
    data, monkeypatch, cluster_loss, weight, expected
):
    X, _ = data
    seen = []
    original = tscc.training.train_epoch

    def spy(model, optimizer, series, settings, *args, **kwargs):
        if kwargs.get("centers") is not None:
            seen.append((settings.cluster_weight, settings.cluster_loss))
        return original(model, optimizer, series, settings, *args, **kwargs)

    monkeypatch.setattr(tscc.training, "train_epoch", spy)
    params = {**TINY, "cluster_loss": cluster_loss, "cluster_weight": weight}
    est = TSCCClusterer(**params).fit(X)
    assert seen == [(expected, cluster_loss)]
    assert est.get_params()["cluster_weight"] == weight  # stored untouched


def test_feature_norm_l2_clusters_unit_length_features(data, tmp_path, monkeypatch):
    X, _ = data
    calls = count_pretraining_epochs(monkeypatch)
    pooled = TSCCClusterer(**{**TINY, "memory": str(tmp_path)}).fit(X)
    unit = TSCCClusterer(**{**TINY, "memory": str(tmp_path), "feature_norm": "l2"})
    unit.fit(X)
    # one pretraining serves both scalings
    assert len(calls) == TINY["pretrain_epochs"]
    features = unit.transform(X)
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(np.linalg.norm(pooled.transform(X), axis=1), 1.0)
    distances = ((features[:, None] - unit.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(unit.predict(X), distances.argmin(axis=1))
    np.testing.assert_array_equal(unit.labels_, unit.predict(X))


def test_feature_norm_is_validated_in_fit(data):
    X, _ = data
    with pytest.raises(ValueError, match="feature_norm"):
        TSCCClusterer(**{**TINY, "feature_norm": "l1"}).fit(X)


def test_mean_pooling_shares_pretraining_and_changes_the_features(data, tmp_path):
    X, _ = data
    common = {**TINY, "memory": str(tmp_path)}
    plain = TSCCClusterer(**common).fit(X)
    mean = TSCCClusterer(**common, pooling="mean").fit(X)
    assert mean.history_[0] == plain.history_[0]  # the same pretraining
    assert not np.allclose(mean.transform(X), plain.transform(X))
    np.testing.assert_array_equal(mean.predict(X), mean.labels_)
    with pytest.raises(ValueError, match="pooling"):
        TSCCClusterer(**{**TINY, "pooling": "median"}).fit(X)
