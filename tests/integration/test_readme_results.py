"""The README's result tables are the ones benchmarks/report.py makes from benchmarks/results/*.json."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _report():
    spec = importlib.util.spec_from_file_location("benchmarks_report", ROOT / "benchmarks" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_tables_come_from_the_result_files():
    report = _report()
    text = (ROOT / "README.md").read_text()
    assert len(report.MARKER.findall(text)) == len(report.SECTIONS), "every results table has its marker"
    assert report.render_readme(text) == text, "README.md is stale: python benchmarks/report.py --readme"
