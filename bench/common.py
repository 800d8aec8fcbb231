"""Shared by the benchmarks: model shapes with random weights, the card and its peak figures, JSON output."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from datetime import date
from pathlib import Path

import torch

from rlhf_course.toyworld import provenance
from rlhf_course.toymodels import MODEL_SHAPES, SCALES

# OPT configs by the size they stand for; "tiny-*" are the CPU smoke-test stand-ins (same code path, seconds to run).
SHAPES = {
    "opt-1.3b": dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=32, ffn_dim=8192, word_embed_proj_dim=2048,
                     do_layer_norm_before=True, vocab_size=50272, max_position_embeddings=2048),
    "opt-350m": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, ffn_dim=4096, word_embed_proj_dim=512,
                     do_layer_norm_before=False, vocab_size=50272, max_position_embeddings=2048),
    # the committed toy world's two shapes (chapter 00), and the 125m world's actor (chapter 00b, for GPUs)
    "tiny-actor": dict(MODEL_SHAPES["actor"], vocab_size=1024, max_position_embeddings=512),
    "125m-actor": dict(SCALES["125m"].shapes["actor"], vocab_size=1024, max_position_embeddings=512),
    "tiny-reward": dict(MODEL_SHAPES["reward"], vocab_size=1024, max_position_embeddings=512),
}

# Dense peak figures per card (bytes/s of HBM, bf16 FLOP/s without sparsity), from the vendors' data sheets.
PEAKS = {"H200": (4.8e12, 989e12), "H100 PCIe": (2.0e12, 756e12), "H100": (3.35e12, 989e12), "A100": (2.0e12, 312e12)}

def random_opt(shape: str, dtype=torch.bfloat16, device="cpu", seed: int = 0):
    "An OPTForCausalLM of the named shape with random weights (OPT's own init), in `dtype` on `device`."
    from transformers import OPTConfig, OPTForCausalLM
    torch.manual_seed(seed)
    config = OPTConfig(dropout=0.0, attention_dropout=0.0, pad_token_id=1, bos_token_id=2, eos_token_id=2, **SHAPES[shape])
    with torch.device(device): model = OPTForCausalLM(config)
    return model.to(dtype).eval()

def card() -> dict:
    "The accelerator's name and peak figures (None where unknown, e.g. on the CPU)."
    if not torch.cuda.is_available(): return {"name": "cpu", "peak_bytes_per_s": None, "peak_bf16_flops": None}
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in PEAKS.items() if k in name), (None, None))
    return {"name": name, "memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1),
            "peak_bytes_per_s": peak[0], "peak_bf16_flops": peak[1]}

def pieces_setting() -> tuple[bool, str, torch.dtype, float | None]:
    "For the piece-by-piece benches: (on a GPU?, device, dtype: bf16 there and fp32 on the CPU, the card's peak bytes/s)."
    cuda = torch.cuda.is_available()
    return cuda, "cuda" if cuda else "cpu", torch.bfloat16 if cuda else torch.float32, card()["peak_bytes_per_s"]

def synced_time() -> float:
    if torch.cuda.is_available(): torch.cuda.synchronize()
    return time.perf_counter()

# Benchmarks write here unless --out says otherwise; results/ holds only files a named run on named hardware wrote.
DEFAULT_OUT = Path("runs") / "bench"

# The GPU machine's copy of the tree carries no trustworthy .git, so a bench's commit is the caller's word
# (BENCH_COMMIT). Each JSON also records a hash of the code that ran: the package's and the benches' modules and
# train.py. `python bench/check_commit.py FILE...` hashes the same files at the recorded commit and says whether the
# word was right (and, if not, which recent commit matches).
ROOT = Path(__file__).resolve().parent.parent

def code_paths(names) -> list[str]:
    "The fingerprinted files among `names` (repository-relative): *.py directly in rlhf_course/ and bench/, train.py."
    return sorted(n for n in names if n == "train.py" or (n.endswith(".py") and n.count("/") == 1
                                                          and n.split("/")[0] in ("rlhf_course", "bench")))

def fingerprint(paths, read) -> str:
    "One hash of the files at `paths`, each read as bytes by `read(path)`."
    h = hashlib.sha256()
    for p in paths: h.update(p.encode() + b"\0" + read(p) + b"\0")
    return h.hexdigest()[:16]

def tree_fingerprint(root: Path = ROOT) -> str:
    "The fingerprint of the files as they are on disk (what a run executes)."
    names = [str(p.relative_to(root)) for d in ("rlhf_course", "bench") for p in (root / d).glob("*.py")]
    return fingerprint(code_paths(names + ["train.py"]), lambda p: (root / p).read_bytes())

def commit_fingerprint(commit: str, root: Path = ROOT) -> str:
    "The fingerprint of the same files as committed at `commit`."
    git = lambda *a: subprocess.run(["git", "-C", str(root), *a], capture_output=True, check=True).stdout
    names = git("ls-tree", "-r", "--name-only", commit, "rlhf_course", "bench", "train.py").decode().split()
    return fingerprint(code_paths(names), lambda p: git("show", f"{commit}:{p}"))

def write_results(path, results: dict) -> None:
    "The figures, with the card and chapter 00's provenance (commit, command, versions, hardware), as JSON at `path`."
    prov = provenance()
    # the GPU machine's copy of the tree may carry no .git, or an older one than the tree it holds: the caller's word wins
    if os.environ.get("BENCH_COMMIT"):
        prov["git"] = {"commit": os.environ["BENCH_COMMIT"], "dirty": None, "from": "BENCH_COMMIT"}
    prov["code_fingerprint"] = tree_fingerprint()
    results = {"date": date.today().isoformat(), "card": card(), **results, "provenance": prov}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {path}")
