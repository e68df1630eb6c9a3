"""scikit-learn's own estimator checks on a fast configuration."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from tscc import TSCCClusterer

FAST = dict(
    repr_dims=8,
    hidden_dims=8,
    depth=2,
    pretrain_epochs=1,
    finetune_epochs=1,
    batch_size=16,
    n_init=2,
    device="cpu",
)

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
