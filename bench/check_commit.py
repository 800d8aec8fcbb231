"""Was a bench JSON's commit the code that ran? Hash the files its fingerprint covers at that commit and compare.

    python bench/check_commit.py results/gpu/gae_pair/step3_gae_32.json      # "matches a43c748"

The GPU machine's copy of the tree has no trustworthy .git, so `provenance.git.commit` is whatever the caller passed
as COMMIT; `provenance.code_fingerprint` is computed there from the files themselves (bench/common.py). On a mismatch
the last --search commits are tried, and the one that matches is named. Exit status 1 if any file does not match.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from common import ROOT, commit_fingerprint


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--search", type=int, default=40, help="recent commits to try when the recorded one does not match")
    args = p.parse_args(argv)
    bad = 0
    for path in args.files:
        prov = json.loads(path.read_text())["provenance"]
        commit, want = prov["git"]["commit"], prov.get("code_fingerprint")
        if want is None:
            print(f"{path}: no code_fingerprint (written before bench/common.py recorded one)"); continue
        if commit_fingerprint(commit) == want:
            print(f"{path}: matches {commit}"); continue
        bad += 1
        recent = subprocess.run(["git", "-C", str(ROOT), "rev-list", f"-n{args.search}", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.split()
        found = next((c[:7] for c in recent if commit_fingerprint(c) == want), None)
        print(f"{path}: does NOT match {commit}; " + (f"the code that ran is {found}'s" if found else
              f"no commit among the last {args.search} matches (a dirty tree?)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
