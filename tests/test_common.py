"""scikit-learn's own estimator checks on a fast configuration."""

from _shared import TINY
from sklearn.utils.estimator_checks import parametrize_with_checks

from tscc import TSCCClusterer

FAST = {**TINY, "batch_size": 16}  # fewer optimizer steps per check

EXPECTED_FAILED_CHECKS = {}


# Both precisions, whatever "auto" picks on the machine running the tests.
@parametrize_with_checks(
    [
        TSCCClusterer(**FAST, precision="float32"),
        TSCCClusterer(**FAST, precision="bfloat16"),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
