"""Step 3's training levers one after another, each in its own process (bench/step3.py), keeping what measures better.

    python bench/sweep_step3.py --out runs/sweep            # OPT-1.3B / OPT-350M shapes, bf16: several minutes on one H200
    python bench/sweep_step3.py --out /tmp/sweep --tiny     # CPU smoke test of the same sequence

1. ZeRO stage 2 (the earlier bench's setting), 1 and 0 for the actor and the critic, logits over the whole sequence,
   at --batch B1 B2 with two PPO updates per rollout batch; the stage with the most samples/s (summed) stays.
2. That stage with logits at the answer positions only (chapter 07's default), plus a profile of one training phase
   and the gap between the engine's and the forward's log-probabilities.
3. The better of the two with one PPO update per rollout batch (the whole batch as one training batch).
4. The batch-scaling run: --scaling sizes, two updates per batch, generate() at the first of the --batch sizes.
Each run writes its JSON (and the profile table) into --out; a summary table is printed last and written as summary.json.
On one H200 steps 1-3 take about 5 minutes (results/gpu/step3_sweep/sweep.log); bench/h200_call.sh cut the first run
there at 330 s, before step 4.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent

def run(name: str, flags: list[str], out: Path, base: list[str], timeout: float = 180) -> dict | None:
    "One bench/step3.py process; its JSON, or None if it failed or ran past `timeout` seconds (the sweep goes on)."
    path = out / f"step3_{name}.json"
    cmd = [sys.executable, str(HERE / "step3.py"), *base, *flags, "--out", str(path)]
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.time()
    try: code = subprocess.run(cmd, timeout=timeout).returncode
    except subprocess.TimeoutExpired: code = "timeout"
    print(f"=== {name}: exit {code} after {time.time() - t0:.0f}s", flush=True)
    return json.loads(path.read_text()) if code == 0 and path.is_file() else None

def score(res: dict | None) -> float:
    return sum(r["samples_per_s"] for r in res["rows"] if r["engine"] == "fast") if res else -1.0

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--tiny", action="store_true", help="toy shapes (CPU smoke test)")
    p.add_argument("--batch", type=int, nargs="+", default=[32, 64])
    p.add_argument("--scaling", type=int, nargs="+", default=[16, 32, 64, 128])
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args(argv)
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    base = ["--models", str(out / "models"), "--steps", str(args.steps)]
    if args.tiny: base += ["--actor", "tiny-actor", "--reward", "tiny-reward", "--prompt", "16", "--new", "8"]
    batches = [str(b) for b in args.batch]
    sweep = ["--batch", *batches, "--updates", "2", "--engines", "fast"]
    results = {f"zero{z}-full": run(f"zero{z}-full", [*sweep, "--zero_stage", str(z), "--logits", "full"], out, base)
               for z in (2, 1, 0)}
    best_stage = max((2, 1, 0), key=lambda z: score(results[f"zero{z}-full"]))
    name = f"zero{best_stage}-answer"
    results[name] = run(name, [*sweep, "--zero_stage", str(best_stage), "--logits", "answer", "--logprob_gap",
                               "--profile", str(out / "profile_training.txt")], out, base)
    logits = "answer" if score(results[name]) >= score(results[f"zero{best_stage}-full"]) else "full"
    best = ["--zero_stage", str(best_stage), "--logits", logits]
    name = f"zero{best_stage}-{logits}-updates1"
    results[name] = run(name, ["--batch", *batches, "--updates", "1", "--engines", "fast", *best], out, base)
    results["scaling"] = run("scaling", ["--batch", *map(str, args.scaling), "--updates", "2", "--engines", "fast", "hf",
                                         "--hf_batches", batches[0], *best], out, base, timeout=240)
    summary = {"best": {"zero_stage": best_stage, "logits": logits}, "runs": {}}
    print(f"\n{'run':28s} {'engine':6s} {'batch':>5s} {'train':>5s} {'samples/s':>9s} {'gen':>5s} {'exp':>5s} {'train':>5s} {'MFU':>5s} {'GiB':>6s}")
    for run_name, res in results.items():
        if res is None: print(f"{run_name:28s} FAILED"); summary["runs"][run_name] = None; continue
        summary["runs"][run_name] = [{k: r[k] for k in ("engine", "batch", "train_batch", "samples_per_s", "phases_s", "training_mfu",
                                                        "peak_memory_gib")} for r in res["rows"]]
        for r in res["rows"]:
            s = r["phase_share"]
            print(f"{run_name:28s} {r['engine']:6s} {r['batch']:5d} {r['train_batch']:5d} {r['samples_per_s']:9.2f} {s['generation']:5.2f} "
                  f"{s['experience']:5.2f} {s['training']:5.2f} {r['training_mfu'] or 0:5.3f} {r['peak_memory_gib'] or 0:6.1f}")
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")

if __name__ == "__main__":
    main()
