"""One PPO step of step 3, timed by phase, with the rollout engine (chapter 06b) and with plain generate().

    python bench/step3.py                       # OPT-1.3B-shaped actor, OPT-350M-shaped critic and reward, bf16, 256 + 256
    python bench/step3.py --actor tiny-actor --reward tiny-reward --prompt 16 --new 8 --batch 4 --train_batch 2 --steps 2

Random weights (so answers run to the full length), random prompts, ZeRO-2 for both trained models, EMA and ptx off,
one PPO epoch: DeepSpeed-Chat's single-GPU benchmark setting. Both engines train the same DeepSpeedRLHFEngine in the
same process; only the sampler differs. The first step (graph capture, optimizer set-up) is left out of the means.
Reports samples/s, the share of the step in generation, the four experience forwards and training, and the training
phase's model FLOPs utilisation (6 x parameters + attention per token, forward and backward, actor and critic).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch
from common import DEFAULT_OUT, SHAPES, card, random_opt, synced_time, write_results

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--actor", default="opt-1.3b", choices=sorted(SHAPES))
    p.add_argument("--reward", default="opt-350m", choices=sorted(SHAPES))
    p.add_argument("--prompt", type=int, default=256)
    p.add_argument("--new", type=int, default=256)
    p.add_argument("--batch", type=int, default=32, help="rollouts per step (--per_device_generation_batch_size)")
    p.add_argument("--train_batch", type=int, default=16, help="--per_device_training_batch_size")
    p.add_argument("--steps", type=int, default=4, help="PPO steps per engine; the first is warm-up")
    p.add_argument("--engines", nargs="+", default=["fast", "hf"], choices=["fast", "hf"])
    p.add_argument("--out", default=str(DEFAULT_OUT / "bench_step3.json"), help="JSON to write (default under runs/)")
    return p.parse_args(argv)

def build_models(args, dtype, folder: Path) -> tuple[Path, Path]:
    "Random actor and critic/reward checkpoints (the reward model with a value head) with the toy world's tokenizer."
    from rlhf_course.ds_utils import load_hf_tokenizer
    from rlhf_course.reward import create_reward_model, save_reward_model
    from rlhf_course.toyworld import load_toyworld
    tokenizer = load_hf_tokenizer(load_toyworld().tokenizer)
    actor, body, critic = folder / "actor", folder / "reward_body", folder / "critic"
    for shape, path in ((args.actor, actor), (args.reward, body)):
        random_opt(shape, dtype).save_pretrained(path); tokenizer.save_pretrained(path)
    save_reward_model(create_reward_model(body, tokenizer), tokenizer, critic, rank=0)
    return actor, critic

def train_flops(model, tokens: int, seq_len: int) -> float:
    "Forward + backward FLOPs: 6 per parameter per token, plus attention's 12 x layers x width x length per token."
    c = model.config
    return tokens * (6 * sum(p.numel() for p in model.parameters()) + 12 * c.num_hidden_layers * c.hidden_size * seq_len)

class PhaseClock:
    "Seconds spent in generation, in the rest of generate_experience, and in training, for one step."
    def __init__(self, trainer):
        self.trainer, self.generate = trainer, trainer._generate_sequence
        trainer._generate_sequence = self._timed_generate
        self.phases = {}
    def _timed_generate(self, *a):
        t0 = synced_time(); out = self.generate(*a); self.phases["generation"] = synced_time() - t0
        return out
    def step(self, batch, train_batch: int, generator) -> dict:
        from rlhf_course.step3 import training_batches
        t0 = synced_time(); exp = self.trainer.generate_experience(batch); t1 = synced_time()
        for mb in training_batches([exp], train_batch, generator): self.trainer.train_rlhf(mb)
        t2 = synced_time()
        return {"generation": self.phases["generation"], "experience": t1 - t0 - self.phases["generation"], "training": t2 - t1}

def run_engine(name: str, trainer, batch, args, peak_flops, flops_per_step) -> dict:
    from rlhf_course.rollout import rollout_engine_for
    trainer.rollout = rollout_engine_for(trainer.actor_model, name)
    clock, gen = PhaseClock(trainer), torch.Generator().manual_seed(0)
    steps = [clock.step(batch, args.train_batch, gen) for _ in range(args.steps)]
    trainer._generate_sequence = clock.generate
    steady = steps[1:] or steps
    mean = {k: statistics.mean(s[k] for s in steady) for k in steady[0]}
    total = sum(mean.values())
    row = {"engine": name, "samples_per_s": round(args.batch / total, 2), "step_s": round(total, 3),
           "phases_s": {k: round(v, 3) for k, v in mean.items()}, "phase_share": {k: round(v / total, 3) for k, v in mean.items()},
           "first_step_s": round(sum(steps[0].values()), 2),
           "training_mfu": round(flops_per_step / mean["training"] / peak_flops, 3) if peak_flops else None}
    if trainer.rollout is not None: row["rollout_stats"] = dict(trainer.rollout.stats)
    print(row, flush=True)
    return row

def main(argv=None):
    from rlhf_course.ds_utils import init_distributed, load_hf_tokenizer, quiet_deepspeed
    from rlhf_course.ppo_trainer import DeepSpeedPPOTrainer
    from rlhf_course.rlhf_engine import DeepSpeedRLHFEngine, check_step3_args, parse_step3_args
    args = parse_args(argv)
    _, _, device = init_distributed(); quiet_deepspeed()
    dtype = "bf16" if device.type == "cuda" else "fp32"
    folder = Path(tempfile.mkdtemp(prefix="bench-step3-"))
    actor_path, critic_path = build_models(args, torch.bfloat16 if dtype == "bf16" else torch.float32, folder)
    tokenizer = load_hf_tokenizer(actor_path)
    step3 = parse_step3_args(["--actor_model_name_or_path", str(actor_path), "--critic_model_name_or_path", str(critic_path),
                              "--output_dir", str(folder / "out"), "--max_prompt_seq_len", str(args.prompt),
                              "--max_answer_seq_len", str(args.new), "--per_device_generation_batch_size", str(args.batch),
                              "--per_device_training_batch_size", str(args.train_batch), "--actor_zero_stage", "2",
                              "--critic_zero_stage", "2", "--dtype", dtype])
    try: check_step3_args(step3, 1, device)                      # e.g. --train_batch must divide --batch
    except ValueError as e: sys.exit(f"bench/step3.py: {e} (--batch and --train_batch set those two)")
    engine = DeepSpeedRLHFEngine(actor_path, critic_path, tokenizer, num_total_iters=len(args.engines) * args.steps, args=step3)
    trainer = DeepSpeedPPOTrainer(engine=engine, args=step3)
    ids = torch.randint(4, len(tokenizer), (args.batch, args.prompt), device=device)
    batch = {"prompt": ids, "prompt_att_mask": torch.ones_like(ids)}
    seq_len = args.prompt + args.new
    flops = sum(train_flops(m.module, args.batch * seq_len, seq_len) for m in (engine.actor, engine.critic))
    peak = card()["peak_bf16_flops"]
    rows = [run_engine(name, trainer, batch, args, peak, flops) for name in args.engines]
    by = {r["engine"]: r for r in rows}
    speedup = round(by["fast"]["samples_per_s"] / by["hf"]["samples_per_s"], 2) if {"fast", "hf"} <= set(by) else None
    print("samples/s, fast / generate():", speedup)
    write_results(args.out, {"actor": args.actor, "reward": args.reward, "dtype": dtype, "prompt_tokens": args.prompt,
                             "new_tokens": args.new, "rollouts_per_step": args.batch, "training_batch": args.train_batch,
                             "zero_stages": {"actor": 2, "critic": 2}, "training_flops_per_step": flops, "rows": rows,
                             "fast_over_generate": speedup})

if __name__ == "__main__":
    main()
