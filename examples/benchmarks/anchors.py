"""The strongest cheap alternatives to TSCC, for the quality benchmark.

Three methods a user would pick instead of a deep clusterer, each a function
``(X, n_clusters, seed) -> labels`` on series ``X`` of shape (n, T, C):

- :func:`kshape`: k-Shape (Paparrizos & Gravano 2015), shape-based distance
  and centroids, aeon's implementation. No method of the 84 in Paparrizos &
  Reddy (VLDB 2025) is statistically better on the UCR archive.
- :func:`random_kernel_clustering`: an R-Clustering-style pipeline
  (Marco-Blanco & Cuevas 2024): MiniRocket random convolutional kernels (aeon)
  -> standard scaling -> PCA keeping 80 % of the variance -> K-means.
- :func:`scattering_gmm`: a scattering network (Seydoux et al. 2020,
  ``scatseisnet``): two layers of Morlet filter banks, coefficients max-pooled
  over the window, log-scaled -> standard scaling -> PCA to 10 components ->
  Gaussian mixture. The seismologists' reference for clustering continuous
  recordings; run on the seismic sets only.

Their dependencies live in the ``bench`` extra: ``pip install -e ".[bench]"``.
"""

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# R-Clustering keeps the principal components that explain this share of the
# variance of the scaled kernel features.
RANDOM_KERNEL_VARIANCE = 0.8
N_RANDOM_KERNELS = 10_000
# Two filter banks, as in Seydoux et al. (2020): a finely resolved first layer
# (6 octaves x 4 wavelets) and a coarse second one (6 octaves x 1).
SCATTERING_LAYERS = (
    {"octaves": 6, "resolution": 4, "quality": 1},
    {"octaves": 6, "resolution": 1, "quality": 3},
)
SCATTERING_COMPONENTS = 10


def _require(module, what):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as error:
        raise ImportError(
            f"{what} needs the package {module.split('.')[0]!r}: "
            'pip install -e ".[bench]"'
        ) from error


def _channels_first(X):
    """(n, T, C) -> (n, C, T) float64, the layout aeon and scatseisnet take."""
    return np.ascontiguousarray(np.transpose(X, (0, 2, 1)), dtype=np.float64)


def kshape(X, n_clusters, seed):
    """k-Shape labels (aeon ``KShape``, 10 initialisations, z-normalised)."""
    clustering = _require("aeon.clustering", "k-Shape")
    model = clustering.KShape(
        n_clusters=n_clusters, n_init=10, z_normalise=True, random_state=seed
    )
    return model.fit_predict(_channels_first(X))


def random_kernel_features(X, seed):
    """MiniRocket features of ``X``: 10,000 random kernels' positive proportions."""
    convolution = _require(
        "aeon.transformations.collection.convolution_based", "Random kernels"
    )
    transform = convolution.MiniRocket(n_kernels=N_RANDOM_KERNELS, random_state=seed)
    return transform.fit_transform(_channels_first(X).astype(np.float32))


def random_kernel_clustering(X, n_clusters, seed):
    """R-Clustering-style labels: MiniRocket -> scaling -> PCA (80 %) -> K-means."""
    features = random_kernel_features(X, seed)
    reduce = make_pipeline(
        StandardScaler(),
        PCA(n_components=RANDOM_KERNEL_VARIANCE, svd_solver="full"),
    )
    reduced = reduce.fit_transform(features)
    return KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(reduced)


def scattering_features(X, sampling_rate=1.0):
    """Log scattering coefficients (orders 1 and 2, max over the window)."""
    scatseisnet = _require("scatseisnet", "Scattering features")
    network = scatseisnet.ScatteringNetwork(
        *SCATTERING_LAYERS, bins=X.shape[1], sampling_rate=sampling_rate
    )
    orders = network.transform(_channels_first(X), reduce_type=np.max)
    features = np.concatenate([order.reshape(len(X), -1) for order in orders], axis=1)
    # Coefficients span decades; a floor keeps silent filters finite.
    return np.log10(features + 1e-10 * features.max())


def scattering_gmm(X, n_clusters, seed):
    """Scattering -> scaling -> PCA (10) -> Gaussian mixture labels."""
    features = scattering_features(X)
    n_components = min(SCATTERING_COMPONENTS, *features.shape)
    reduced = make_pipeline(
        StandardScaler(), PCA(n_components, random_state=seed)
    ).fit_transform(features)
    mixture = GaussianMixture(
        n_clusters, covariance_type="full", n_init=10, random_state=seed
    )
    return mixture.fit_predict(reduced)
