import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.model_selection import GridSearchCV

import tscc.estimator
import tscc.metrics
from tscc import TSCCClusterer, make_microseismic
from tscc.metrics import (
    calinski_harabasz_scorer,
    clustering_accuracy,
    clustering_accuracy_scorer,
    clustering_scores,
    silhouette_scorer,
)


def test_accuracy_of_a_renamed_labelling_is_one():
    rng = np.random.default_rng(0)
    labels_true = rng.integers(0, 4, size=50)
    renaming = np.array([2, 0, 3, 1])
    assert clustering_accuracy(labels_true, renaming[labels_true]) == 1.0


def test_accuracy_with_string_and_integer_labels():
    labels_true = ["noise", "event", "noise", "event"]
    assert clustering_accuracy(labels_true, [7, 3, 7, 3]) == 1.0
    assert clustering_accuracy(labels_true, ["b", "a", "b", "b"]) == 0.75


@pytest.mark.parametrize(
    ("labels_true", "labels_pred", "expected"),
    [
        # Classes 0 and 1 go to clusters 0 and 1; the third cluster is wrong.
        ([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 2], 4 / 6),
        # More clusters than classes: one cluster per class is matched.
        ([0, 0, 1, 1], [0, 1, 2, 3], 2 / 4),
        # One cluster for four classes: only one class can be matched.
        ([0, 1, 2, 3], [5, 5, 5, 5], 1 / 4),
        # The majority mapping (both classes to cluster 0) is not allowed.
        ([0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1], 4 / 6),
        ([1], [0], 1.0),
    ],
)
def test_accuracy_on_hand_computed_cases(labels_true, labels_pred, expected):
    assert clustering_accuracy(labels_true, labels_pred) == pytest.approx(expected)


def test_accuracy_is_symmetric_and_a_float():
    rng = np.random.default_rng(1)
    labels_true = rng.integers(0, 3, size=40)
    labels_pred = rng.integers(0, 5, size=40)
    accuracy = clustering_accuracy(labels_true, labels_pred)
    assert isinstance(accuracy, float)
    assert accuracy == clustering_accuracy(labels_pred, labels_true)
    assert 0.0 <= accuracy <= 1.0


@pytest.mark.parametrize("metric", [clustering_accuracy, clustering_scores])
@pytest.mark.parametrize(
    ("labels_true", "labels_pred", "match"),
    [
        ([0, 1, 1], [0, 1], "inconsistent numbers of samples"),
        ([], [], "0 sample"),
        ([[0, 1], [1, 0]], [[0, 1], [1, 0]], "must be 1-D"),
        ([0, 1], [0.0, np.nan], "NaN"),
    ],
)
def test_invalid_labels_raise_value_error(metric, labels_true, labels_pred, match):
    with pytest.raises(ValueError, match=match):
        metric(labels_true, labels_pred)


def test_scores_match_scikit_learn():
    rng = np.random.default_rng(2)
    labels_true = rng.integers(0, 3, size=60)
    labels_pred = np.where(rng.random(60) < 0.7, labels_true, rng.integers(0, 3, 60))
    scores = clustering_scores(labels_true, labels_pred)
    assert list(scores) == ["acc", "nmi", "ari"]
    assert all(type(value) is float for value in scores.values())
    assert scores["acc"] == clustering_accuracy(labels_true, labels_pred)
    assert scores["nmi"] == pytest.approx(
        normalized_mutual_info_score(labels_true, labels_pred)
    )
    assert scores["ari"] == pytest.approx(adjusted_rand_score(labels_true, labels_pred))


def test_scores_of_a_perfect_clustering():
    assert clustering_scores([0, 0, 1, 2], [4, 4, 9, 1]) == {
        "acc": 1.0,
        "nmi": 1.0,
        "ari": 1.0,
    }


def test_scorer_selects_the_number_of_clusters_in_grid_search():
    X, y = make_blobs(n_samples=90, centers=3, cluster_std=0.5, random_state=0)
    search = GridSearchCV(
        KMeans(n_init=1, random_state=0),
        {"n_clusters": [2, 3, 4]},
        scoring=clustering_accuracy_scorer,
        cv=3,
    )
    search.fit(X, y)
    assert search.best_params_ == {"n_clusters": 3}
    assert search.best_score_ == pytest.approx(1.0)
    # Two clusters can match at most two of the three equal-sized classes.
    assert search.cv_results_["mean_test_score"][0] <= 2 / 3 + 0.1


def test_scorer_calls_predict_and_scores_against_y():
    X, y = make_blobs(n_samples=30, centers=2, cluster_std=0.3, random_state=3)
    kmeans = KMeans(n_clusters=2, n_init=3, random_state=0).fit(X)
    assert clustering_accuracy_scorer(kmeans, X, y) == clustering_accuracy(
        y, kmeans.predict(X)
    )
    assert clustering_accuracy_scorer(kmeans, X, 1 - y) == 1.0


class _FeatureClusterer:
    """Stands for a fitted clusterer whose features are the inputs themselves."""

    def __init__(self, centers):
        self.cluster_centers_ = np.asarray(centers, dtype=float)
        self.transform_calls = 0

    def transform(self, X):
        self.transform_calls += 1
        return np.asarray(X, dtype=float)


def test_label_free_scorers_score_nearest_centre_clusters_of_the_features():
    X, _ = make_blobs(n_samples=60, centers=3, cluster_std=0.4, random_state=0)
    centers = KMeans(3, n_init=3, random_state=0).fit(X).cluster_centers_
    clusterer = _FeatureClusterer(centers)
    labels = np.argmin(((X[:, None] - centers[None]) ** 2).sum(-1), axis=1)
    assert silhouette_scorer(clusterer, X) == pytest.approx(silhouette_score(X, labels))
    assert calinski_harabasz_scorer(clusterer, X) == pytest.approx(
        calinski_harabasz_score(X, labels)
    )
    # One encoding per score, and y is never needed.
    assert clusterer.transform_calls == 2
    assert silhouette_scorer(clusterer, X, y=np.zeros(60)) == silhouette_scorer(
        clusterer, X
    )


def test_label_free_scorers_give_the_worst_score_to_a_single_cluster():
    X, _ = make_blobs(n_samples=20, centers=2, random_state=0)
    one_centre_far_away = _FeatureClusterer([[100.0, 100.0], [1e6, 1e6]])
    assert silhouette_scorer(one_centre_far_away, X) == -1.0
    assert calinski_harabasz_scorer(one_centre_far_away, X) == 0.0


def test_silhouette_scorer_estimates_on_a_fixed_subset_of_large_sets(monkeypatch):
    monkeypatch.setattr(tscc.metrics, "SILHOUETTE_MAX_SAMPLES", 50)
    X, _ = make_blobs(n_samples=400, centers=3, cluster_std=2.0, random_state=1)
    clusterer = _FeatureClusterer(
        KMeans(3, n_init=3, random_state=0).fit(X).cluster_centers_
    )
    first = silhouette_scorer(clusterer, X)
    assert silhouette_scorer(clusterer, X) == first
    labels = np.argmin(
        ((X[:, None] - clusterer.cluster_centers_[None]) ** 2).sum(-1), 1
    )
    assert first == pytest.approx(
        silhouette_score(X, labels, sample_size=50, random_state=0)
    )


def test_grid_search_over_n_clusters_pretrains_once_and_scores_without_labels(
    tmp_path, monkeypatch
):
    X, _ = make_microseismic(30, 64, random_state=0)
    calls = []
    pretrain = tscc.estimator.pretrain_encoder

    def counting_pretrain(*args, **kwargs):
        calls.append(1)
        return pretrain(*args, **kwargs)

    monkeypatch.setattr(tscc.estimator, "pretrain_encoder", counting_pretrain)
    everything = np.arange(len(X))
    search = GridSearchCV(
        TSCCClusterer(
            depth=1,
            hidden_dims=8,
            pretrain_epochs=1,
            finetune_epochs=0,
            memory=str(tmp_path),
            random_state=0,
        ),
        {"n_clusters": [2, 3, 4]},
        scoring={"silhouette": silhouette_scorer, "ch": calinski_harabasz_scorer},
        refit="silhouette",
        cv=[(everything, everything)],
    )
    search.fit(X)
    # Three candidates and the refit share one pretraining.
    assert len(calls) == 1
    scores = search.cv_results_["mean_test_silhouette"]
    assert np.all((scores >= -1) & (scores <= 1))
    best = search.best_params_["n_clusters"]
    assert best == [2, 3, 4][int(np.argmax(scores))]
    assert search.best_estimator_.n_clusters == best
