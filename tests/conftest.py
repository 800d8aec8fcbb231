from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


# Chapters whose papermill run passed in this session: tests/test_site.py builds the whole book's site only then.
CHAPTERS_PASSED: set = set()


def pytest_configure(config):
    config._chapters_passed = CHAPTERS_PASSED


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed and "test_chapter_runs[" in report.nodeid:
        CHAPTERS_PASSED.add(report.nodeid.rsplit("[", 1)[1].rstrip("]"))
