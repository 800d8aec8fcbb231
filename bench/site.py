"""The book's website: time the build from an executed run folder, then the real-browser test on it.

    python bench/site.py --run runs/pytest                                   # CI's run of the book
    python bench/site.py --run results/gpu-run --only 00 01 02 03 04 05 06 07 08 09 10

Targets (issue 18): on 2 CPU cores, the build under 2 minutes and the browser test under 2 minutes. Runs the
build as `python -m rlhf_course.site --site ... --site-only` does, then `pytest tests/test_site.py` against the same
run folder (RLHF_SITE_RUN; that test builds the site again in its fixture, so its time is reported with and without
the build). Records the machine's load average: on a shared machine the figures are upper bounds.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rlhf_course.site import build_site   # noqa: E402
from rlhf_course.toyworld import provenance   # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="executed run folder")
    p.add_argument("--only", nargs="*", help="chapter prefixes the run holds (a run without a manifest)")
    p.add_argument("--site", default="runs/site-bench")
    p.add_argument("--out", default="results/cpu/site_times.json")
    args = p.parse_args(argv)
    load_before = os.getloadavg()
    t0 = time.time()
    summary = build_site(args.run, args.site, ROOT / "nbs", root=ROOT, only=args.only)
    build_s = time.time() - t0
    env = {**os.environ, "RLHF_SITE_RUN": str(Path(args.run).resolve()), "RLHF_SITE_ONLY": " ".join(args.only or []),
           "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    t0 = time.time()
    r = subprocess.run([sys.executable, "-m", "pytest", "tests/test_site.py", "-q", "-s", "-p", "no:cacheprovider"],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    test_s = time.time() - t0
    lines = r.stdout.splitlines()
    fixture_build = next((float(l.rsplit(" in ", 1)[1].rstrip("s")) for l in lines if l.startswith("site of ")), None)
    checked = next((l for l in lines if " pages checked in " in l), None)
    results = {"provenance": provenance(), "run": args.run, "chapters": len(summary["chapters"]),
               "build_s": round(build_s, 1), "browser_test_s": round(test_s, 1),
               "browser_test_without_its_build_s": round(test_s - fixture_build, 1) if fixture_build else None,
               "browser_pages": checked, "browser_test_passed": r.returncode == 0,
               "load_average_before": [round(x, 1) for x in load_before], "load_average_after": [round(x, 1) for x in os.getloadavg()]}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    if r.returncode: print(r.stdout[-3000:], r.stderr[-2000:], file=sys.stderr); sys.exit(1)


if __name__ == "__main__":
    main()
