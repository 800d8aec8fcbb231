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


# pytest-xdist (`-n 2 --dist loadgroup` in pyproject.toml): the chapters run in order in one worker (a chapter may use
# what an earlier one built, and the site test needs every chapter's run), with the site test after them; every other
# test goes to the other worker, so the unit and launcher tests overlap the chapters instead of following them.
BOOK_FILES = ("test_notebooks.py", "test_site.py")


@pytest.hookimpl(tryfirst=True)   # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in BOOK_FILES: item.add_marker(pytest.mark.xdist_group("book"))


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed and "test_chapter_runs[" in report.nodeid:
        CHAPTERS_PASSED.add(report.nodeid.rsplit("[", 1)[1].rstrip("]"))
