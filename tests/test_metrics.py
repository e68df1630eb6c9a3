import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.model_selection import GridSearchCV

from tscc.metrics import (
    clustering_accuracy,
    clustering_accuracy_scorer,
    clustering_scores,
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
