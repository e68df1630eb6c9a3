"""The benchmark pages' tables are those their results files give.

``examples/benchmarks/docs_tables.py`` writes the tables of docs/benchmarks.md
and docs/experiments.md from examples/benchmarks/results/*.json (the docs build
runs it); these tests fail when a committed page differs from what it writes.
Fix with ``python examples/benchmarks/docs_tables.py``.
"""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def docs_tables():
    path = ROOT / "examples" / "benchmarks" / "docs_tables.py"
    spec = importlib.util.spec_from_file_location("docs_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pages(docs_tables):
    return docs_tables.rendered_pages()


def test_committed_tables_equal_the_results_files(pages):
    stale = [page.name for page, (old, new) in pages.items() if old != new]
    assert not stale, (
        f"tables of {stale} differ from examples/benchmarks/results/: "
        "run python examples/benchmarks/docs_tables.py"
    )


def test_every_table_appears_once(docs_tables, pages):
    names = [
        match["name"]
        for old, _ in pages.values()
        for match in docs_tables.REGION.finditer(old)
    ]
    assert sorted(names) == sorted(docs_tables.TABLES)


def test_every_table_names_its_results_files_and_commands(docs_tables):
    for name, build in docs_tables.TABLES.items():
        text = build()
        files = re.findall(r"`examples/benchmarks/results/(\w+)\.json`: `python ", text)
        assert files, name
        for file in files:
            assert (docs_tables.RESULTS / f"{file}.json").is_file()


def test_scores_quoted_on_the_benchmarks_page_are_in_its_tables(docs_tables, pages):
    """A score in the prose of benchmarks.md (three decimals) is one that a
    generated table of the page shows, so the prose cannot drift either."""
    page = ROOT / "docs" / "benchmarks.md"
    _, text = pages[page]
    tables = " ".join(m["body"] for m in docs_tables.REGION.finditer(text))
    prose = docs_tables.REGION.sub("", text)
    shown = set(re.findall(r"-?\d\.\d{3}", tables))
    quoted = set(re.findall(r"-?\d\.\d{3}", prose))
    assert quoted <= shown, sorted(quoted - shown)


def test_render_rewrites_a_stale_region(docs_tables):
    stale = "intro\n<!-- table: n-clusters -->\n| old |\n<!-- /table -->\nafter\n"
    fresh = docs_tables.render(stale)
    assert "| old |" not in fresh
    assert "| right | |" in fresh
    assert fresh.startswith("intro\n") and fresh.endswith("<!-- /table -->\nafter\n")
    assert docs_tables.render(fresh) == fresh
    with pytest.raises(KeyError):
        docs_tables.render("<!-- table: no-such-table -->\n<!-- /table -->")
