"""The book's website in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`) driven by selenium.

The site is built from runs/pytest when every chapter ran (and passed) earlier in this pytest session, as in CI;
from the run folder RLHF_SITE_RUN names (e.g. a GPU run's, with RLHF_SITE_ONLY="00 01 ..." for the chapters it ran);
otherwise from a small run of demo chapters that `rlhf_course.site.demo_run` makes, with the real front page.
Every page is opened over HTTP on localhost and checked: no console error, no request outside the site, every image
has pixels, every link inside the site resolves (page and anchor), MathJax rendered the math (no raw TeX in the
visible text), and the front page shows the results tables. Screenshots of the front page and of chapter 08 (or, in
a small run, its first chapter) go to runs/site-screens/.
"""
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import nbformat
import pytest

from rlhf_course.book import BookError, chapter_notebooks
from rlhf_course.site import build_site, demo_run, track_title

ROOT = Path(__file__).resolve().parent.parent
# Debian's packages (.ci/run installs them); CHROMIUM / CHROMEDRIVER name another system install (GitHub's runners)
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENS = ROOT / "runs" / "site-screens"
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000"]


def _book_ran_in_this_session(request, chapter_status) -> bool:
    "Whether every chapter ran and passed in this pytest run (waiting for those still running on another worker)."
    chapters = [p.name for p in chapter_notebooks(ROOT / "nbs")]
    selected = {i.callspec.params["nb_path"].name for i in request.session.items if i.originalname == "test_chapter_runs"}
    if not selected >= set(chapters): return False
    states = chapter_status.wait(chapters)
    print("chapters of this run:", {s: sum(v == s for v in states.values()) for s in set(states.values())})
    return all(v == "passed" for v in states.values())


@pytest.fixture(scope="module")
def site(request, tmp_path_factory, chapter_status):
    "(site folder, build summary): the whole book when it ran in this session, else a small run."
    out, only = ROOT / "runs" / "site", os.environ.get("RLHF_SITE_ONLY", "").split() or None
    if os.environ.get("RLHF_SITE_RUN"):   # any executed run folder, e.g. a GPU run's (RLHF_SITE_ONLY: chapter prefixes)
        run, nbs = Path(os.environ["RLHF_SITE_RUN"]).resolve(), ROOT / "nbs"
    elif _book_ran_in_this_session(request, chapter_status):
        run, nbs = ROOT / "runs" / "pytest", ROOT / "nbs"
    else:
        work = tmp_path_factory.mktemp("site-run")
        run, nbs = demo_run(work, index=ROOT / "nbs" / "index.ipynb"), work / "nbs"
        out = work / "site"
    t0 = time.time()
    summary = build_site(run, out, nbs, root=ROOT, only=only)
    print(f"site of {len(summary['chapters'])} chapters from {run} built in {time.time() - t0:.1f}s")
    return out, summary


@pytest.fixture(scope="module")
def served(site):
    "The site served over HTTP on localhost; yields its base URL."
    handler = functools.partial(_QuietHandler, directory=str(site[0]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    for p in (CHROMIUM, CHROMEDRIVER):
        assert p.is_file(), f"{p} is missing: `apt-get install -y chromium chromium-driver` (the README's quick start)"
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS: opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={Path(__import__('tempfile').mkdtemp(prefix='chromium-'))}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60); driver.set_script_timeout(60)
    driver.get("about:blank"); driver.get_log("performance"); driver.get_log("browser")   # the browser's own start-up
    yield driver
    driver.quit()


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent": urls.append(msg["params"]["request"]["url"])
    return urls


VISIBLE_TEXT = """
const body = document.body.cloneNode(true);
body.querySelectorAll('pre, code, script, style, mjx-assistive-mml, .highlight, .cell_output, .output').forEach(e => e.remove());
return body.textContent;"""
MATHJAX_DONE = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { done('no mathjax'); return; }
MathJax.startup.promise.then(() => done(document.querySelectorAll('mjx-container').length + ' rendered'));"""
IMAGES = "return Array.from(document.images).map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth]);"
LINKS = "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);"


def _ids(html: str) -> set:
    return set(re.findall(r'\bid="([^"]+)"', html))


def test_every_page_in_a_real_browser(site, served, browser):
    site_dir, summary = site
    pages = sorted(p.relative_to(site_dir).as_posix() for p in site_dir.glob("*.html"))
    assert "index.html" in pages and all(Path(n).stem + ".html" in pages for n in summary["chapters"]), pages
    ids = {p: _ids((site_dir / p).read_text()) for p in pages}
    t0, problems, math_pages, images = time.time(), [], 0, 0
    for page in pages:
        browser.get(served + page)
        state = browser.execute_async_script(MATHJAX_DONE)
        if state != "no mathjax": math_pages += 1
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        outside = [u for u in _requests(browser) if not u.startswith((served, "data:", "blob:", "about:", "chrome:", "chrome-extension:"))]
        page_images = browser.execute_script(IMAGES)
        images += len(page_images)
        broken_images = [src for src, complete, width in page_images if not complete or width == 0]
        text = browser.execute_script(VISIBLE_TEXT)
        raw_tex = [t for t in ("$$", "\\frac", "\\(", "\\[", "\\begin{") if t in text]
        for href in set(browser.execute_script(LINKS)):
            url, frag = urldefrag(href)
            if not url.startswith(served): continue
            target = urlparse(url).path.lstrip("/") or "index.html"
            if target.endswith("/"): target += "index.html"
            if not (site_dir / target).is_file():
                problems.append(f"{page}: link to missing {target}")
            elif frag and target.endswith(".html") and frag not in ids.get(target, _ids((site_dir / target).read_text())):
                problems.append(f"{page}: link to missing anchor {target}#{frag}")
        problems += [f"{page}: console error {e}" for e in errors] + [f"{page}: requested {u}" for u in outside]
        problems += [f"{page}: image did not load {s}" for s in broken_images] + [f"{page}: raw TeX {raw_tex}" for _ in raw_tex[:1]]
    print(f"{len(pages)} pages checked in {time.time() - t0:.1f}s; MathJax ran on {math_pages}, {images} images")
    assert not problems, "\n".join(problems[:40])
    assert math_pages >= 1 and images >= 1, (math_pages, images)   # the checks above saw math and plots


def test_front_page_shows_results_and_tracks(site, served, browser):
    from selenium.webdriver.common.by import By
    site_dir, summary = site
    browser.get(served + "index.html")
    tables = [t.text for t in browser.find_elements(By.TAG_NAME, "table")]
    assert any("gold score, sampled" in t for t in tables), tables[:3]
    assert any("wall time (s)" in t for t in tables)
    nav = browser.find_element(By.CSS_SELECTOR, "nav.bd-links").text
    for track in summary["tracks"]:
        assert track_title(track) in nav, (track, nav[:500])
    SCREENS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENS / "front_page.png"))
    chapter = next((n for n in summary["chapters"] if n.startswith("08_")), summary["chapters"][0])
    browser.get(served + Path(chapter).stem + ".html")
    assert "This page is an executed run" in browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(SCREENS / f"{Path(chapter).stem}.png"))
    assert (SCREENS / "front_page.png").stat().st_size > 10_000


def test_a_run_with_a_failed_or_missing_chapter_makes_no_site(site, tmp_path):
    site_dir, summary = site
    run = Path(summary["run"])
    bad = tmp_path / "run"
    shutil.copytree(run, bad)
    first, last = summary["chapters"][0], summary["chapters"][-1]
    (bad / first).unlink()
    nb = nbformat.read(bad / last, as_version=4)
    nb.metadata.setdefault("papermill", {})["exception"] = True
    code = next(c for c in reversed(nb.cells) if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("error", ename="RuntimeError", evalue="boom", traceback=[])]
    nbformat.write(nb, bad / last)
    nbs = ROOT / "nbs" if (ROOT / "nbs" / last).is_file() else run.parent / "nbs"
    with pytest.raises(BookError) as err:
        build_site(bad, tmp_path / "site", nbs, root=ROOT)
    assert f"{first} missing" in str(err.value) and f"{last} failed (RuntimeError: boom)" in str(err.value)
    assert not (tmp_path / "site").exists()


def test_site_command_refuses_a_run_with_a_missing_chapter(site, tmp_path, capsys):
    "`python -m rlhf_course.site --site ... --site-only` on a broken run: one line naming the chapter, no traceback."
    from rlhf_course.site import main
    site_dir, summary = site
    run = tmp_path / "run"
    shutil.copytree(summary["run"], run)
    (run / summary["chapters"][-1]).unlink()
    nbs = ROOT / "nbs" if (ROOT / "nbs" / summary["chapters"][0]).is_file() else Path(summary["run"]).parent / "nbs"
    with pytest.raises(SystemExit) as exit_:
        main(["--out", str(run), "--site", str(tmp_path / "site"), "--site-only", "--nbs", str(nbs)])
    assert str(exit_.value).startswith("site failed: ") and f"{summary['chapters'][-1]} missing" in str(exit_.value)
    assert not (tmp_path / "site").exists()
    with pytest.raises(SystemExit):
        main(["--out", str(run), "--site-only"])   # no --site: argparse's usage error
    assert "the following arguments are required: --site" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])   # chapter 90's options (its book_parser), then the site's own
    usage = capsys.readouterr().out
    assert all(o in usage for o in ("--params", "--out", "--nbs", "--only", "--flags", "--site", "--site-only")), usage
    assert "--readme" not in usage


def test_site_module_runs_as_a_command(tmp_path):
    "`python -m rlhf_course.site` (the module as __main__) answers a bad run folder with one line, exit status 1."
    r = subprocess.run([sys.executable, "-m", "rlhf_course.site", "--out", "no-such-run", "--site", "site", "--site-only"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.strip() == "site failed: run folder not found: no-such-run", r.stderr
    assert not (tmp_path / "site").exists()


def test_readme_links_the_site_and_each_chapter_page():
    from rlhf_course.site import repo_settings, site_url
    readme, url = (ROOT / "README.md").read_text(), site_url(repo_settings(ROOT))
    assert f"]({url})" in readme
    missing = [p.stem for p in chapter_notebooks(ROOT / "nbs") if f"]({url}{p.stem}.html)" not in readme]
    assert not missing, f"chapters without a link to their page in nbs/index.ipynb's table: {missing}"


def test_executed_copies_under_results_match_nbs():
    "An executed notebook kept under results/ ran the code that nbs/ holds now (else regenerate it or delete it)."
    from rlhf_course.site import stale_cells
    stale = {}
    for executed in sorted(ROOT.glob("results/**/*.ipynb")):
        source = ROOT / "nbs" / executed.name
        assert source.is_file(), f"{executed} has no source notebook in nbs/"
        diff = stale_cells(executed, source)
        if diff: stale[str(executed.relative_to(ROOT))] = diff
    assert not stale, f"executed copies differ from nbs/ (regenerate them with the book, or delete them): {stale}"
