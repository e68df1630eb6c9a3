"""Metrics that score a clustering against known classes.

The true labels are used only to score a clustering, never to fit it. Cluster
indices are arbitrary, so every metric here gives the same score when the
predicted clusters are renamed.
"""

from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (
    adjusted_rand_score,
    make_scorer,
    normalized_mutual_info_score,
)
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils import check_array, check_consistent_length

__all__ = [
    "clustering_accuracy",
    "clustering_accuracy_scorer",
    "clustering_scores",
]


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
