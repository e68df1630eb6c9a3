"""Sphinx configuration of the tscc documentation.

Build from the repository root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The tables of ``benchmarks.md`` and ``experiments.md`` are rewritten from
``examples/benchmarks/results/*.json`` at every build (``setup`` below). The
gallery runs every ``examples/plot_*.py`` script. Unless ``TSCC_QUICK`` is
already set, it is set to ``1`` here, so the examples train shortened models
(as ``tscc demo --quick`` does) and the whole build takes about ten minutes on
2 CPU cores; ``TSCC_QUICK=0`` runs them at their real size (much longer).
"""

import importlib.util
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # document this checkout's tscc
sys.path.insert(0, str(DOCS))  # sphinx-gallery imports conf.GalleryOrder by name

os.environ.setdefault("TSCC_QUICK", "1")

import tscc  # noqa: E402

# -- Project -----------------------------------------------------------------

project = "tscc"
author = "tscc developers"
copyright = "tscc developers, BSD-3-Clause"
release = tscc.__version__
version = release

# -- General -----------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "README.md",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
]

# -- autodoc, autosummary, numpydoc ------------------------------------------

autosummary_generate = True
autodoc_typehints = "none"
autodoc_member_order = "bysource"
# The class template lists the methods itself; numpydoc's member table would
# ask for one stub page per inherited scikit-learn method.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- MyST (the Markdown pages) -----------------------------------------------

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# -- sphinx-gallery ----------------------------------------------------------

# examples/benchmarks/ has no GALLERY_HEADER, so its long benchmark scripts
# are never collected.
ignore = [r"__init__\.py"]
if importlib.util.find_spec("obspy") is None:
    ignore.append(r"^plot_miniseed_folder\.py$")  # needs ObsPy to run


class GalleryOrder:
    """Order of the gallery: the quickstart first, then the other examples.

    sphinx-gallery takes the key as a "module.Class" string (a callable would
    make the configuration unpicklable) and calls ``GalleryOrder(src_dir)``.
    """

    FIRST = (
        "plot_quickstart.py",
        "plot_pipeline_gridsearch.py",
        "plot_choose_n_clusters.py",
        "plot_feature_probes.py",
        "plot_miniseed_folder.py",
        "plot_scaling.py",
        "plot_archive_report.py",
        "plot_gpu.py",
    )

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        """Sort key of an example file name: listed ones first, then by name."""
        rank = self.FIRST.index(filename) if filename in self.FIRST else len(self.FIRST)
        return rank, filename

    def __repr__(self):
        return "GalleryOrder"


sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": re.escape(os.sep) + "plot_",
    "ignore_pattern": "|".join(ignore),
    "within_subsection_order": "conf.GalleryOrder",
    "doc_module": ("tscc",),
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "show_memory": False,
    "matplotlib_animations": False,
}

# -- Benchmark tables ---------------------------------------------------------


def write_benchmark_tables(app):
    """Rewrite the tables of benchmarks.md and experiments.md.

    ``examples/benchmarks/docs_tables.py`` writes them from the results files;
    this runs before Sphinx reads the pages.
    """
    path = DOCS.parent / "examples" / "benchmarks" / "docs_tables.py"
    spec = importlib.util.spec_from_file_location("docs_tables", path)
    docs_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs_tables)
    for page in docs_tables.write_pages():
        print(f"docs_tables: rewrote the tables of {page.name}")


def setup(app):
    """Sphinx extension hook of this configuration."""
    app.connect("builder-inited", write_benchmark_tables)


# -- HTML --------------------------------------------------------------------

html_theme = "furo"
html_title = f"tscc {release}"
html_static_path = []
html_show_sourcelink = False
