"""Metrics that score a clustering, against known classes or without them.

The true labels are used only to score a clustering, never to fit it. Cluster
indices are arbitrary, so every metric here gives the same score when the
predicted clusters are renamed. The label-free scorers
(:func:`silhouette_scorer`, :func:`calinski_harabasz_scorer`) judge the clusters
by their geometry in the learned feature space, which is how ``n_clusters`` is
chosen when no labels exist.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    make_scorer,
    normalized_mutual_info_score,
    pairwise_distances_argmin,
    silhouette_score,
)
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils import check_array, check_consistent_length

__all__ = [
    "calinski_harabasz_scorer",
    "clustering_accuracy",
    "clustering_accuracy_scorer",
    "clustering_scores",
    "silhouette_scorer",
]

# Silhouette costs n**2 distances; beyond this many series it is estimated on
# a fixed random subset.
SILHOUETTE_MAX_SAMPLES = 5000


def _check_labels(labels_true, labels_pred):
    """Return both labellings as 1-D arrays of equal, non-zero length."""
    checked = []
    for name, labels in (("labels_true", labels_true), ("labels_pred", labels_pred)):
        # dtype=None keeps string labels as they are.
        labels = check_array(
            labels,
            ensure_2d=False,
            ensure_min_samples=1,
            dtype=None,
            input_name=name,
        )
        if labels.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D, got an array of shape {labels.shape}."
            )
        checked.append(labels)
    check_consistent_length(*checked)
    return checked


def clustering_accuracy(labels_true, labels_pred):
    """Compute the accuracy of a clustering after matching clusters to classes.

    Each predicted cluster is matched to at most one class, and each class to at
    most one cluster, so that the number of correctly labelled samples is as
    large as possible (Hungarian algorithm on the contingency matrix). The
    accuracy is that number divided by the number of samples.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Ground-truth classes. Any hashable, sortable labels (ints, strings).
    labels_pred : array-like of shape (n_samples,)
        Cluster labels to score. The number of clusters may differ from the
        number of classes.

    Returns
    -------
    accuracy : float
        Matched accuracy in ``[0, 1]``; 1.0 for a perfect clustering up to a
        renaming of the clusters.

    Raises
    ------
    ValueError
        If the labellings are empty, not 1-D, or of different lengths.

    See Also
    --------
    clustering_scores : Accuracy, NMI and ARI at once.
    clustering_accuracy_scorer : This metric as a scikit-learn scorer.

    Notes
    -----
    When there are more clusters than classes, the samples of the clusters left
    unmatched count as errors, and conversely for classes left unmatched. The
    score is symmetric in its two arguments.

    Examples
    --------
    >>> from tscc.metrics import clustering_accuracy
    >>> clustering_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> clustering_accuracy(["a", "a", "b", "b", "c"], [1, 1, 0, 0, 0])
    0.8
    """
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    contingency = contingency_matrix(labels_true, labels_pred)
    rows, cols = linear_sum_assignment(contingency, maximize=True)
    return float(contingency[rows, cols].sum() / labels_true.shape[0])


def clustering_scores(labels_true, labels_pred):
    """Compute matched accuracy, normalised mutual information and adjusted Rand index.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Ground-truth classes.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels to score.

    Returns
    -------
    scores : dict
        ``{"acc": float, "nmi": float, "ari": float}``: the matched accuracy
        of :func:`clustering_accuracy`,
        :func:`sklearn.metrics.normalized_mutual_info_score` (arithmetic mean
        normalisation) and :func:`sklearn.metrics.adjusted_rand_score`.

    Raises
    ------
    ValueError
        If the labellings are empty, not 1-D, or of different lengths.

    See Also
    --------
    clustering_accuracy : The matched accuracy alone.

    Examples
    --------
    >>> from tscc.metrics import clustering_scores
    >>> clustering_scores([0, 0, 1, 1], [5, 5, 7, 7])
    {'acc': 1.0, 'nmi': 1.0, 'ari': 1.0}
    >>> scores = clustering_scores([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1])
    >>> {name: round(value, 3) for name, value in scores.items()}
    {'acc': 0.833, 'nmi': 0.479, 'ari': 0.324}
    """
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    return {
        "acc": clustering_accuracy(labels_true, labels_pred),
        "nmi": float(normalized_mutual_info_score(labels_true, labels_pred)),
        "ari": float(adjusted_rand_score(labels_true, labels_pred)),
    }


clustering_accuracy_scorer = make_scorer(clustering_accuracy)
clustering_accuracy_scorer.__doc__ = """Scorer for model selection by matched accuracy.

Use it as ``scoring=clustering_accuracy_scorer`` in
:class:`sklearn.model_selection.GridSearchCV` or
:func:`sklearn.model_selection.cross_val_score`. It calls ``predict`` on the
fitted clusterer and scores the clusters against the ``y`` passed to the search
with :func:`clustering_accuracy`; the clusterer itself never uses ``y``.
"""


def _features_and_labels(estimator, X):
    """Learned features of ``X`` and their nearest-centre clusters, one encoding.

    Returns ``None`` where an internal score is undefined: all series in one
    cluster, or every series a cluster of its own.
    """
    features = np.asarray(estimator.transform(X), dtype=np.float64)
    labels = pairwise_distances_argmin(features, estimator.cluster_centers_)
    n_found = np.unique(labels).size
    if n_found < 2 or n_found >= len(labels):
        return None
    return features, labels


def silhouette_scorer(estimator, X, y=None):
    """Mean silhouette of a fitted clusterer's clusters in its feature space.

    A scorer with the signature scikit-learn expects, for choosing
    ``n_clusters`` (or any parameter) without labels:
    ``GridSearchCV(..., scoring=silhouette_scorer)``. ``X`` is encoded once with
    ``estimator.transform``; each series goes to its nearest cluster centre
    (as ``predict`` does) and :func:`sklearn.metrics.silhouette_score` scores
    the clusters with Euclidean distances between the features. Higher is
    better, at most 1.

    Parameters
    ----------
    estimator : fitted TSCCClusterer
        Any fitted clusterer with ``transform`` and ``cluster_centers_`` in
        the space ``transform`` returns.
    X : array-like of shape (n_samples, n_timestamps, n_channels)
        Series to score.
    y : None
        Ignored: the score needs no labels.

    Returns
    -------
    score : float
        The mean silhouette in [-1, 1]. With more than 5000 series it is
        estimated on 5000 of them, drawn with a fixed seed. -1.0 (the worst)
        when every series falls in one cluster, or each in a cluster of its
        own, where the silhouette is not defined.

    See Also
    --------
    calinski_harabasz_scorer : Between- over within-cluster dispersion.

    Examples
    --------
    >>> from tscc import TSCCClusterer, make_microseismic
    >>> from tscc.metrics import silhouette_scorer
    >>> X, _ = make_microseismic(24, 64, random_state=0)
    >>> model = TSCCClusterer(
    ...     2, depth=1, hidden_dims=8, pretrain_epochs=1, finetune_epochs=0,
    ...     random_state=0,
    ... ).fit(X)
    >>> -1.0 <= silhouette_scorer(model, X) <= 1.0
    True
    """
    clusters = _features_and_labels(estimator, X)
    if clusters is None:
        return -1.0
    features, labels = clusters
    sample_size = (
        SILHOUETTE_MAX_SAMPLES if len(labels) > SILHOUETTE_MAX_SAMPLES else None
    )
    return float(
        silhouette_score(features, labels, sample_size=sample_size, random_state=0)
    )


def calinski_harabasz_scorer(estimator, X, y=None):
    """Calinski-Harabasz index of a fitted clusterer's clusters in its feature space.

    The ratio of between-cluster to within-cluster dispersion, each divided by
    its degrees of freedom (:func:`sklearn.metrics.calinski_harabasz_score`),
    of the nearest-centre clusters of ``estimator.transform(X)``. Higher is
    better. A scorer for ``GridSearchCV(..., scoring=calinski_harabasz_scorer)``;
    linear in the number of series, so it scores large sets whole.

    Parameters
    ----------
    estimator : fitted TSCCClusterer
        Any fitted clusterer with ``transform`` and ``cluster_centers_`` in
        the space ``transform`` returns.
    X : array-like of shape (n_samples, n_timestamps, n_channels)
        Series to score.
    y : None
        Ignored: the score needs no labels.

    Returns
    -------
    score : float
        The index, >= 0; 0.0 when every series falls in one cluster, or
        each in a cluster of its own.

    See Also
    --------
    silhouette_scorer : Mean silhouette of the same clusters.

    Examples
    --------
    >>> from tscc import TSCCClusterer, make_microseismic
    >>> from tscc.metrics import calinski_harabasz_scorer
    >>> X, _ = make_microseismic(24, 64, random_state=0)
    >>> model = TSCCClusterer(
    ...     2, depth=1, hidden_dims=8, pretrain_epochs=1, finetune_epochs=0,
    ...     random_state=0,
    ... ).fit(X)
    >>> calinski_harabasz_scorer(model, X) >= 0.0
    True
    """
    clusters = _features_and_labels(estimator, X)
    if clusters is None:
        return 0.0
    return float(calinski_harabasz_score(*clusters))
