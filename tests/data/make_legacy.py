"""Files written by tscc at commit e144771, before the encoder had its output block.

A model file, a joblib pickle and what they predicted, for
tests/test_persistence.py, which checks that they still load and predict the
same. Made with:

    git worktree add /tmp/tscc-e144771 e144771
    PYTHONPATH=/tmp/tscc-e144771 python tests/data/make_legacy.py tests/data
"""

import sys
from pathlib import Path

import joblib
import numpy as np


def main(out):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from _shared import TINY, two_shapes

    from tscc import TSCCClusterer

    X, _ = two_shapes()
    # float32: bfloat16 kernels differ more between CPUs
    est = TSCCClusterer(**{**TINY, "depth": 3, "precision": "float32"}).fit(X)
    est.save(f"{out}/legacy_e144771.tscc")
    joblib.dump(est, f"{out}/legacy_e144771.joblib")
    np.savez(
        f"{out}/legacy_e144771_expected.npz",
        X=X,
        features=est.transform(X),
        proba=est.predict_proba(X),
        labels=est.labels_,
    )


if __name__ == "__main__":
    main(sys.argv[1])
