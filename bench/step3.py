"""PPO steps of step 3, timed by phase, with the rollout engine (chapter 06b) and with plain generate(), at several batch sizes.

    python bench/step3.py                       # OPT-1.3B-shaped actor, OPT-350M-shaped critic and reward, bf16, 256 + 256
    python bench/step3.py --batch 16 32 64 128 --updates 2 --engines fast hf --hf_batches 32
    python bench/step3.py --actor tiny-actor --reward tiny-reward --prompt 16 --new 8 --batch 4 --train_batch 2 --steps 2

Random weights (so answers run to the full length for the first few tens of PPO steps; each row records whether
they did), random prompts, EMA and ptx off, one PPO epoch: DeepSpeed-Chat's single-GPU benchmark setting. Every engine
and batch size trains the same DeepSpeedRLHFEngine in the same process; only the sampler and the batch differ. The first step of each (graph capture, optimizer set-up) is left out of the means.
Reports samples/s, the seconds and share of the step in generation, the four experience forwards and training, the
peak GPU memory, and the training phase's model FLOPs utilisation (MFU: the FLOPs the step needs, below, over the
training seconds and the card's dense bf16 peak).
Levers: --zero_stage of the two trained models (in bf16 at ZeRO-0/1 the package builds DeepSpeed's BF16_Optimizer;
--bf16_optimizer off measures the per-parameter wrapper it replaced, results/gpu/bf16opt_default), --logits (full: over the whole sequence, DeepSpeed-Chat's way and
chapter 07's default; answer: at the answer positions only, chapter 07's `answer_logits_only`), --train_batch /
--updates (the PPO minibatch). The defaults are what measured best on one H200 (results/gpu/step3_sweep).
--attention (chapter 07's real tokens first, or the mask), --gae (chapter 05's matrix form, or its loop), --logits,
--ds_loops (DeepSpeed's per-parameter optimizer loops, or foreach kernels: bench/ds_foreach.py) and --left_pad (prompt padding) each take several values, timed in turn in the same process (results/gpu/real_first3,
gae_pair, foreach).
--engines fast-overlap samples the next rollout batch beside the current step's scoring and training (a second thread
and CUDA stream, one step off-policy; results/gpu/overlap), with --switch_interval (Python's thread switches,
results/gpu/overlap2) and --train_sms (the training in a CUDA green context of that many SMs, results/gpu/overlap3).
--profile FILE writes a torch.profiler table of one training phase, --cpu_profile FILE a cProfile table of its CPU side; --gaps FILE splits one training phase's GPU idle
time by the trainer's part the CPU was in (results/gpu/gaps); --logprob_gap compares the rollout engine's
log-probabilities with the actor's forward pass (whether the forward could be skipped).
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import DEFAULT_OUT, SHAPES, card, random_opt, synced_time, write_results

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--actor", default="opt-1.3b", choices=sorted(SHAPES))
    p.add_argument("--reward", default="opt-350m", choices=sorted(SHAPES))
    p.add_argument("--prompt", type=int, default=256)
    p.add_argument("--new", type=int, default=256)
    p.add_argument("--batch", type=int, nargs="+", default=[32], help="rollouts per step (--per_device_generation_batch_size)")
    p.add_argument("--train_batch", type=int, default=16, help="--per_device_training_batch_size")
    p.add_argument("--updates", type=int, default=None, help="training batches per rollout batch: sets --train_batch to batch / updates")
    p.add_argument("--zero_stage", type=int, default=0, choices=[0, 1, 2], help="ZeRO stage of the actor and the critic (0: step 3's default; in bf16 on one GPU the package asks DeepSpeed for its BF16_Optimizer, results/gpu/step3_bf16opt)")
    p.add_argument("--bf16_optimizer", default="on", choices=["on", "off"],
                   help="off: the config without fp32 gradient accumulation (DeepSpeed's per-parameter bf16 wrapper at "
                        "ZeRO-0, the package's default before it asked for BF16_Optimizer)")
    p.add_argument("--immediate_grad_update", action="store_true",
                   help="BF16_Optimizer adds each bf16 gradient into its fp32 buffer from a backward hook, as it is made, "
                        "instead of in one pass after the backward (DeepSpeed's bf16.immediate_grad_update)")
    p.add_argument("--fuse_norms", default="auto", choices=["auto", "on", "off"],
                   help="the rollout engine's residual sums and LayerNorms in one compiled kernel each (auto: its default, fused on GPUs)")
    p.add_argument("--compile_decoders", action="store_true",
                   help="torch.compile every model's decoder layers (actor, reference, critic, reward) for the forward "
                        "and backward passes of experience and training; a lever under test, not step 3's default")
    p.add_argument("--attention", nargs="+", default=["real_first"], choices=["real_first", "mask"],
                   help="real_first: each row's real tokens moved to its front, no attention mask (chapter 07's default, "
                        "the flash kernel); mask: the padded rows and their mask (chapter 07's real_tokens_first = False)")
    p.add_argument("--gae", nargs="+", default=["matrix"], choices=["matrix", "loop"],
                   help="matrix: chapter 05's gae_matrix_form (chapter 07's trainer); loop: its loop over positions")
    p.add_argument("--left_pad", type=int, nargs="+", default=[0],
                   help="pad each prompt on the left by a random 0..N tokens (0: unpadded random prompts, the issue's "
                        "setting; real prompts have their own lengths)")
    p.add_argument("--logits", nargs="+", default=["full"], choices=["answer", "full"],
                   help="logits everywhere or at the answer positions only (chapter 07's answer_logits_only)")
    p.add_argument("--ds_loops", nargs="+", default=["deepspeed"], choices=["deepspeed", "foreach"],
                   help="foreach: BF16_Optimizer's per-parameter gradient copies, norm and clip as foreach kernels "
                        "(bench/ds_foreach.py, a lever under test); deepspeed: its own loops")
    p.add_argument("--cpu_profile", default=None,
                   help="write where the CPU's time goes in one training phase (cProfile, the GPU synchronised at its end)")
    p.add_argument("--steps", type=int, default=4, help="PPO steps per engine and batch; the first is warm-up")
    p.add_argument("--engines", nargs="+", default=["fast", "hf"], choices=["fast", "hf", "fast-overlap"],
                   help="fast-overlap: the engine sampling the next rollout batch on a second CUDA stream, from a copy of "
                        "the actor's weights, while this step scores and trains on the current one (one step off-policy; "
                        "a lever under test, run_overlapped)")
    p.add_argument("--switch_interval", type=float, nargs="+", default=[None],
                   help="fast-overlap: Python's thread switch interval in seconds while it runs (sys.setswitchinterval; "
                        "None: Python's 0.005), each value timed in turn: the sampling thread needs the interpreter "
                        "for every decoding step it replays")
    p.add_argument("--train_sms", type=int, nargs="+", default=[None],
                   help="fast-overlap: scoring and training run in a CUDA green context of this many SMs (torch.cuda."
                        "green_contexts), so the rest are free whenever the sampler's kernels arrive (None: the whole "
                        "GPU, shared; 0 the same), each value timed in turn")
    p.add_argument("--hf_batches", type=int, nargs="*", default=None, help="run generate() only at these batch sizes (default: all)")
    p.add_argument("--models", default=None, help="folder of the random checkpoints: reused if there, written if not")
    p.add_argument("--profile", default=None, help="write a torch.profiler table of one training phase here")
    p.add_argument("--gaps", default=None,
                   help="write where the GPU sat idle in one training phase: its idle time split by what the trainer was "
                        "doing on the CPU then (labelled parts: forward, backward, optimizer step, ...)")
    p.add_argument("--logprob_gap", action="store_true", help="compare the engine's log-probs with the actor's forward")
    p.add_argument("--out", default=str(DEFAULT_OUT / "bench_step3.json"), help="JSON to write (default under runs/)")
    args = p.parse_args(argv)
    if any(v is not None and v <= 0 for v in args.switch_interval):
        p.error(f"--switch_interval {args.switch_interval}: seconds above 0")
    if any(v is not None and v < 0 for v in args.train_sms):
        p.error(f"--train_sms {args.train_sms}: a number of SMs, 0 or more")
    for b in args.batch:
        tb = b // args.updates if args.updates else args.train_batch
        if tb < 1 or b % tb: p.error(f"--batch {b}: must be a multiple of the training batch {tb} (--train_batch / --updates)")
    return args

def train_batch_for(args, batch: int) -> int: return batch // args.updates if args.updates else args.train_batch

def build_models(args, dtype, folder: Path) -> tuple[Path, Path]:
    "Random actor and critic/reward checkpoints (the reward model with a value head) with the toy world's tokenizer."
    from rlhf_course.ds_utils import load_hf_tokenizer
    from rlhf_course.reward import create_reward_model, save_reward_model
    from rlhf_course.toyworld import load_toyworld
    actor, body, critic = folder / "actor", folder / "reward_body", folder / "critic"
    if (actor / "config.json").is_file() and (critic / "config.json").is_file(): return actor, critic
    tokenizer = load_hf_tokenizer(load_toyworld().tokenizer)
    for shape, path in ((args.actor, actor), (args.reward, body)):
        random_opt(shape, dtype).save_pretrained(path); tokenizer.save_pretrained(path)
    save_reward_model(create_reward_model(body, tokenizer), tokenizer, critic, rank=0)
    return actor, critic

def train_flops(model, batch: int, seq_len: int, logit_positions: int) -> float:
    """FLOPs of one forward + backward that the step needs: 6 per weight per token for every matrix but the token
    embedding, 6 x vocabulary x width per position whose logits PPO reads (the LM head shares the embedding), and
    attention's 12 x layers x width x length per token. The critic has no LM head: its embedding is a lookup."""
    c = model.config
    embedding = (model.base if hasattr(model, "base") else model).get_input_embeddings().weight.numel()
    matrices = sum(p.numel() for p in model.parameters()) - embedding
    head = embedding * logit_positions if hasattr(model, "lm_head") else 0
    return 6 * (batch * seq_len * matrices + batch * head) + batch * seq_len * 12 * c.num_hidden_layers * c.hidden_size * seq_len

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
        # the trainer cuts the answers to the batch's longest (chapter 07): the tokens this step trained on
        self.answer_tokens = exp["seq"].shape[1] - batch["prompt"].shape[1]
        return {"generation": self.phases["generation"], "experience": t1 - t0 - self.phases["generation"], "training": t2 - t1}

def peak_gib() -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None

def steps_row(name: str, n: int, train_batch: int, steps: list, walls: list, widths: list, args, peak_flops,
              flops_for) -> dict:
    """One row from timed steps: `steps` their phases' seconds, `walls` their seconds, `widths` their answers' tokens;
    the first step (graph capture, optimizer set-up) left out of the means."""
    keep = slice(1, None) if len(steps) > 1 else slice(None)
    steady, steady_walls, steady_widths = steps[keep], walls[keep], widths[keep]
    flops_per_step = statistics.mean(flops_for(w) for w in steady_widths)
    mean = {k: statistics.mean(s[k] for s in steady) for k in steady[0]}
    total = statistics.mean(steady_walls)
    row = {"engine": name, "batch": n, "train_batch": train_batch, "samples_per_s": round(n / total, 2),
           "step_s": round(total, 3), "step_s_each": [round(t, 3) for t in steady_walls],
           "phases_s": {k: round(v, 3) for k, v in mean.items()}, "phase_share": {k: round(v / total, 3) for k, v in mean.items()},
           "first_step_s": round(walls[0], 2), "peak_memory_gib": peak_gib(),
           "training_mfu": round(flops_per_step / mean["training"] / peak_flops, 3) if peak_flops else None,
           "answer_tokens_each": steady_widths, "training_flops_per_step": flops_per_step,
           # PPO trains the random actor from row to row of one process: after some tens of steps it learns to end its
           # answers early, and a row with shorter answers is no measurement of the bench's setting
           "full_length": all(w == args.new for w in widths)}
    if not row["full_length"]:
        print(f"bench/step3.py: {name} at B={n}: answers {widths} tokens, not the full {args.new}: not this bench's setting", flush=True)
    return row

def run_overlapped(trainer, batch, train_batch: int, args, peak_flops, flops_for, switch_interval=None,
                   train_sms=None) -> dict:
    """Steps whose generation runs beside the previous step's experience and training: a second thread samples rollout
    batch k+1 on a high-priority CUDA stream from a copy of the actor's weights taken before update k, while this thread
    scores batch k and trains on it. Each step's seconds are this thread's, its stream synchronised at the end (not the
    device: that would wait for the next generation too). A measure of what overlapping the phases gives on one GPU."""
    import contextlib
    import threading
    from unittest import mock
    from rlhf_course.rollout import rollout_engine_for
    from rlhf_course.step3 import training_batches
    cuda = torch.cuda.is_available()
    if cuda: torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    engine = trainer.rollout = rollout_engine_for(trainer.actor_model, "fast")
    # buffers of its own, refreshed by weights(): the update cannot change a rollout under way
    engine.materialise = True
    side = torch.cuda.Stream(priority=-1) if cuda else None
    on_side = (lambda: torch.cuda.stream(side)) if cuda else contextlib.nullcontext
    sample, prompts, mask = trainer._generate_sequence, batch["prompt"], batch["prompt_att_mask"]

    def start() -> tuple:
        "Copy the weights (this stream, now), then sample the next batch from the copy in a second thread."
        w, out = engine.weights(), {}
        copied = torch.cuda.Event() if cuda else None
        if cuda: copied.record()
        def work():
            if cuda: side.wait_event(copied)
            t0 = time.perf_counter()
            with on_side(), mock.patch.object(engine, "weights", lambda: w):
                out["seq"] = sample(prompts, mask)
                if cuda: side.synchronize()
            out["s"] = time.perf_counter() - t0
        thread = threading.Thread(target=work)
        thread.start()
        return thread, out

    def finish(thread, out):
        thread.join()
        if cuda: torch.cuda.current_stream().wait_stream(side); out["seq"].record_stream(torch.cuda.current_stream())
        return out

    sample(prompts, mask)                 # the graphs captured here, with nothing beside them
    # generate() selects cuDNN's attention with sdpa_kernel, a process-wide setting: from a second thread it would
    # also switch this thread's training attention, so the overlapped prefills keep the training's choice
    rollout_module, interval = sys.modules[type(engine).__module__], sys.getswitchinterval()
    gen, steps, walls, widths = torch.Generator().manual_seed(0), [], [], []
    with contextlib.ExitStack() as undo:           # every setting below is put back, whatever happens
        undo.enter_context(mock.patch.object(rollout_module, "sdpa_kernel", lambda *a: contextlib.nullcontext()))
        undo.callback(sys.setswitchinterval, interval)
        if switch_interval: sys.setswitchinterval(switch_interval)
        if train_sms:
            # scoring and training on `train_sms` SMs: this thread's kernels go to the green context's default stream
            green = torch.cuda.green_contexts.GreenContext.create(num_sms=train_sms)
            green.set_context()
            undo.callback(green.pop_context)
        pending = start()
        for _ in range(args.steps):
            t0 = time.perf_counter()
            done = finish(*pending)
            pending = start()
            with mock.patch.object(trainer, "_generate_sequence", lambda *a: done["seq"]):
                exp = trainer.generate_experience(batch)
            t1 = time.perf_counter()
            for mb in training_batches([exp], train_batch, gen): trainer.train_rlhf(mb)
            if cuda: torch.cuda.current_stream().synchronize()
            t2 = time.perf_counter()
            steps.append({"generation (beside)": done["s"], "experience": t1 - t0, "training": t2 - t1})
            walls.append(t2 - t0)
            widths.append(exp["seq"].shape[1] - prompts.shape[1])
        finish(*pending)
    # phase_share of "generation (beside)": its seconds beside the others over the step's
    row = steps_row("fast-overlap", len(prompts), train_batch, steps, walls, widths, args, peak_flops, flops_for)
    row.update(copied_bytes=engine.stats["copied_bytes"], off_policy_steps=1,
               switch_interval_s=switch_interval or interval, train_sms=train_sms)
    print(row, flush=True)
    return row

def run_engine(name: str, trainer, batch, train_batch: int, args, peak_flops, flops_for, switch_interval=None,
               train_sms=None) -> dict:
    "One engine's timed steps; `flops_for(answer_tokens)`: the training FLOPs of a step whose answers are that long."
    from rlhf_course.rollout import add_norm, fused_add_norm, rollout_engine_for
    if name.startswith("fast-overlap"):
        try:
            return run_overlapped(trainer, batch, train_batch, args, peak_flops, flops_for, switch_interval, train_sms)
        # a green context this build cannot make, or a step that fails in one: a row saying so
        # (a CUDA fault inside the step still ends the process, as results/gpu/overlap3/ shows)
        except RuntimeError as e:
            if not train_sms: raise
            print(f"bench/step3.py: fast-overlap with --train_sms {train_sms}: {e}", flush=True)
            return {"engine": name, "batch": len(batch["prompt"]), "train_sms": train_sms, "error": str(e)[:300]}
    trainer.rollout = None
    if torch.cuda.is_available(): torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    trainer.rollout = rollout_engine_for(trainer.actor_model, name)
    if trainer.rollout is not None and args.fuse_norms != "auto":
        trainer.rollout.add_norm = fused_add_norm() if args.fuse_norms == "on" else add_norm
    clock, gen = PhaseClock(trainer), torch.Generator().manual_seed(0)
    steps, widths = [], []
    for _ in range(args.steps):
        steps.append(clock.step(batch, train_batch, gen)); widths.append(clock.answer_tokens)
    trainer._generate_sequence = clock.generate
    row = steps_row(name, len(batch["prompt"]), train_batch, steps, [sum(s.values()) for s in steps], widths, args,
                    peak_flops, flops_for)
    if trainer.rollout is not None:
        row["rollout_stats"] = dict(trainer.rollout.stats, fused_norms=trainer.rollout.add_norm is not add_norm)
    print(row, flush=True)
    return row

def profile_training(trainer, batch, train_batch: int, path) -> dict:
    "torch.profiler over one training phase: the table, and the GPU's busy time by kind of kernel."
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    from rlhf_course.step3 import training_batches
    exp = trainer.generate_experience(batch)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t0 = synced_time()
        for mb in training_batches([exp], train_batch, torch.Generator().manual_seed(0)): trainer.train_rlhf(mb)
        wall = synced_time() - t0
    events = prof.key_averages()
    self_us = lambda e: getattr(e, "self_device_time_total", None) or getattr(e, "self_cuda_time_total", 0)
    # the GPU's busy time from the kernels alone (an operator's row repeats the time of the kernels it launched)
    kernels = [e for e in events if e.device_type != DeviceType.CPU]
    # attention first: PyTorch's memory-efficient attention kernels are named fmha_cutlass...
    kinds = {"attention": ("attention", "flash", "fmha", "sdpa"), "matmul": ("nvjet", "gemm", "cutlass", "sm90_xmma", "cublas"),
             "optimizer": ("adam", "multi_tensor", "foreach"), "copy/cast": ("copy", "memcpy", "memset", "cat", "fill")}
    busy = {}
    for e in kernels:
        kind = next((k for k, keys in kinds.items() if any(s in e.key.lower() for s in keys)), "other")
        busy[kind] = busy.get(kind, 0.0) + self_us(e) / 1e6
    # kernels by time (on a CPU run, where there are none, the operators)
    top = sorted(kernels or events, key=self_us if kernels else (lambda e: e.self_cpu_time_total), reverse=True)[:40]
    lines = [f"training phase under the profiler: {wall:.3f} s wall, GPU busy {sum(busy.values()):.3f} s (kernels)",
             "busy by kind: " + ", ".join(f"{k} {v:.3f} s" for k, v in sorted(busy.items(), key=lambda kv: -kv[1])),
             f"{'op':60s} {'calls':>6s} {'GPU self s':>10s} {'CPU total s':>11s}"]
    lines += [f"{e.key[:60]:60s} {e.count:6d} {self_us(e) / 1e6:10.4f} {e.cpu_time_total / 1e6:11.4f}" for e in top]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:2]), flush=True)
    return {"wall_s": round(wall, 3), "gpu_busy_s": {k: round(v, 3) for k, v in busy.items()}, "table": str(path)}

# the trainer's parts that the --gaps profile labels: (object attribute, label)
GAP_PARTS = (("actor_model.backward", "actor backward"), ("actor_model.step", "actor step"),
             ("critic_model.backward", "critic backward"), ("critic_model.step", "critic step"),
             ("_logits", "forward: actor logits"), ("_values", "forward: critic values"),
             ("compute_targets", "targets (advantages, returns)"))

def idle_by_part(trainer, batch, train_batch: int, path) -> dict:
    """One profiled training phase: the GPU's idle time between kernels, split by the labelled part of the trainer the
    CPU was in meanwhile (the rest, e.g. the losses and their checks, is 'between parts')."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile, record_function
    from rlhf_course.step3 import training_batches
    exp = trainer.generate_experience(batch)
    originals = []
    for attr, label in GAP_PARTS:
        owner_name, _, name = attr.rpartition(".")
        owner = getattr(trainer, owner_name) if owner_name else trainer
        f = getattr(owner, name)
        def labelled(*a, _f=f, _label=label, **k):
            with record_function(_label): return _f(*a, **k)
        setattr(owner, name, labelled); originals.append((owner, name))
    try:
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            with record_function("training phase"):
                for mb in training_batches([exp], train_batch, torch.Generator().manual_seed(0)): trainer.train_rlhf(mb)
                synced_time()
    finally:
        for owner, name in originals: delattr(owner, name)
    events = prof.events()
    phase = next(e for e in events if e.name == "training phase")
    t0, t1 = phase.time_range.start, phase.time_range.end
    labels = {label for _, label in GAP_PARTS}
    # the GPU's own events, less the profiler's copies of the labelled ranges on the GPU's timeline
    kernels = sorted((e.time_range.start, e.time_range.end) for e in events
                     if e.device_type != DeviceType.CPU and not getattr(e, "is_user_annotation", False)
                     and e.name not in labels | {"training phase"})
    idle, last = [], t0              # the GPU's idle intervals inside the phase
    for a, b in kernels:
        if a > last: idle.append((last, min(a, t1)))
        last = max(last, b)
    if last < t1: idle.append((last, t1))
    # outermost labelled ranges (a forward inside a backward counts for the backward)
    parts = sorted((e.time_range.start, e.time_range.end, e.name) for e in events if e.name in labels)
    outer = []
    for a, b, name in parts:
        if outer and a < outer[-1][1]: continue
        outer.append((a, b, name))
    overlap = lambda x, y: max(0.0, min(x[1], y[1]) - max(x[0], y[0]))
    by = {}
    for gap in idle:
        inside = 0.0
        for a, b, name in outer:
            o = overlap(gap, (a, b))
            if o: by[name] = by.get(name, 0.0) + o; inside += o
        by["between parts"] = by.get("between parts", 0.0) + (gap[1] - gap[0]) - inside
    wall = (t1 - t0) / 1e6
    busy = sum(b - a for a, b in kernels) / 1e6
    lines = [f"training phase under the profiler: {wall:.3f} s wall, {len(kernels)} GPU events ({busy:.3f} s), GPU idle "
             f"{sum(b - a for a, b in idle) / 1e6:.3f} s; the idle time by what the CPU was doing meanwhile:"]
    lines += [f"  {k:32s} {v / 1e6:8.4f} s" for k, v in sorted(by.items(), key=lambda kv: -kv[1])]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
    return {"wall_s": round(wall, 3), "idle_s": {k: round(v / 1e6, 4) for k, v in by.items()}, "table": str(path)}

def cpu_profile(trainer, batch, train_batch: int, path) -> dict:
    """cProfile over one training phase (the GPU synchronised at its end, so the time the CPU waited for it shows as
    synchronize): the functions by their own time and by their time with callees."""
    import cProfile
    import io
    import pstats
    from rlhf_course.step3 import training_batches
    exp = trainer.generate_experience(batch)
    synced_time()
    prof = cProfile.Profile()
    t0 = synced_time()
    prof.enable()
    for mb in training_batches([exp], train_batch, torch.Generator().manual_seed(0)): trainer.train_rlhf(mb)
    synced_time()
    prof.disable()
    wall = synced_time() - t0
    text = io.StringIO()
    for key in ("tottime", "cumulative"):
        pstats.Stats(prof, stream=text).sort_stats(key).print_stats(35)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(f"training phase under cProfile: {wall:.3f} s wall\n" + text.getvalue())
    print(f"training phase under cProfile: {wall:.3f} s wall, table in {path}", flush=True)
    return {"wall_s": round(wall, 3), "table": str(path)}

@torch.no_grad()
def logprob_gap(trainer, batch) -> dict:
    "How far the rollout engine's log-probabilities are from the actor's forward pass over the same answers."
    from rlhf_course.ppo import action_mask_and_ended
    from rlhf_course.ppo_trainer import action_log_probs, rollout_mask
    from rlhf_course.rollout import Sampling
    prompts, mask, tok = batch["prompt"], batch["prompt_att_mask"], trainer.tokenizer
    seq, engine_lp = trainer.rollout.generate(prompts, mask, trainer.args.max_answer_seq_len, Sampling(), tok.eos_token_id, tok.pad_token_id)
    P = prompts.shape[1]
    am, _ = action_mask_and_ended(seq[:, P:], tok.eos_token_id)
    forward_lp = action_log_probs(trainer._logits(trainer.actor_model, seq, rollout_mask(mask, am), P), seq, P)
    gap = (forward_lp - engine_lp)[am.bool()].abs()
    out = {"mean_abs": gap.mean().item(), "max_abs": gap.max().item(), "ratio_max_minus_1": gap.max().exp().item() - 1}
    print("engine log-probs against the actor's forward:", out, flush=True)
    return out

def compile_decoders(engine) -> list[str]:
    """`torch.compile` (Inductor, static shapes) on each model's decoder layers, in place (regional compilation: one
    layer's code, reused by the others of its width); the names compiled. The rollout engine reads the actor's weights
    itself, so generation is unchanged; embeddings, final norms, LM and value heads stay eager."""
    names = []
    for role in ("actor", "ref", "critic", "reward"):
        model = getattr(engine, role)
        for name, module in getattr(model, "module", model).named_modules():
            if type(module).__name__ == "OPTDecoderLayer":
                module.compile(dynamic=False)
                names.append(f"{role}.{name}")
    return names

GAE_FORMS = {"matrix": "gae_matrix_form", "loop": "gae_advantages_and_returns"}

def set_variant(trainer, attention: str, gae: str, logits: str, ds_loops: str):
    "Chapter 07's trainer set to one variant of each lever timed in turn."
    import rlhf_course.ppo as ppo
    import rlhf_course.ppo_trainer as ppo_trainer
    trainer.real_tokens_first = attention == "real_first"
    ppo_trainer.gae_matrix_form = getattr(ppo, GAE_FORMS[gae])
    trainer.answer_logits_only = logits == "answer"
    if ds_loops == "foreach" or "ds_foreach" in sys.modules:
        import ds_foreach
        ds_foreach.use(ds_loops == "foreach")

def main(argv=None):
    from rlhf_course.ds_utils import init_distributed, load_hf_tokenizer, quiet_deepspeed
    from rlhf_course.ppo_trainer import DeepSpeedPPOTrainer
    from rlhf_course.rlhf_engine import DeepSpeedRLHFEngine, check_step3_args, parse_step3_args
    args = parse_args(argv)
    if args.bf16_optimizer == "off" or args.immediate_grad_update:   # a lever under test: the config init_engine builds
        import rlhf_course.harness as harness
        base_config = harness.get_train_ds_config
        def config(*a, **k):
            cfg = base_config(*a, **k, bf16_optimizer=args.bf16_optimizer == "on")
            if args.immediate_grad_update and "bf16" in cfg: cfg["bf16"]["immediate_grad_update"] = True
            return cfg
        harness.get_train_ds_config = config
    _, _, device = init_distributed(); quiet_deepspeed()
    dtype = "bf16" if device.type == "cuda" else "fp32"
    folder = Path(args.models or tempfile.mkdtemp(prefix="bench-step3-"))
    actor_path, critic_path = build_models(args, torch.bfloat16 if dtype == "bf16" else torch.float32, folder)
    tokenizer = load_hf_tokenizer(actor_path)
    tb0 = train_batch_for(args, args.batch[0])
    step3 = parse_step3_args(["--actor_model_name_or_path", str(actor_path), "--critic_model_name_or_path", str(critic_path),
                              "--output_dir", str(folder / "out"), "--max_prompt_seq_len", str(args.prompt),
                              "--max_answer_seq_len", str(args.new), "--per_device_generation_batch_size", str(args.batch[0]),
                              "--per_device_training_batch_size", str(tb0), "--actor_zero_stage", str(args.zero_stage),
                              "--critic_zero_stage", str(args.zero_stage), "--dtype", dtype])
    try: check_step3_args(step3, 1, device)
    except ValueError as e: sys.exit(f"bench/step3.py: {e}")
    t0 = synced_time()
    engine = DeepSpeedRLHFEngine(actor_path, critic_path, tokenizer, num_total_iters=10**6, args=step3)
    trainer = DeepSpeedPPOTrainer(engine=engine, args=step3)
    compiled = compile_decoders(engine) if args.compile_decoders else []
    init_s = synced_time() - t0
    peak = card()["peak_bf16_flops"]
    rows, extra, gen = [], {}, torch.Generator(device=device).manual_seed(0)
    for b in args.batch:
        for pad in args.left_pad:
            ids = torch.randint(4, len(tokenizer), (b, args.prompt), device=device, generator=gen)
            left = torch.randint(0, pad + 1, (b, 1), device=device, generator=gen)
            real = torch.arange(args.prompt, device=device)[None, :] >= left
            batch = {"prompt": ids.where(real, tokenizer.pad_token_id), "prompt_att_mask": real.long()}
            def flops(answer_tokens, b=b):
                return sum(train_flops(m.module, b, args.prompt + answer_tokens, answer_tokens) for m in (engine.actor, engine.critic))
            for name in args.engines:
                if name == "hf" and args.hf_batches is not None and b not in args.hf_batches: continue
                overlap = name == "fast-overlap"
                switches, sms = (args.switch_interval, args.train_sms) if overlap else ([None], [None])
                for attention, gae, logits, loops, switch, n_sms in itertools.product(args.attention, args.gae, args.logits, args.ds_loops, switches, sms):
                    set_variant(trainer, attention, gae, logits, loops)
                    rows.append({**run_engine(name, trainer, batch, train_batch_for(args, b), args, peak, flops, switch, n_sms),
                                 "attention": attention, "left_pad": pad, "gae": gae, "logits": logits, "ds_loops": loops})
            set_variant(trainer, args.attention[0], args.gae[0], args.logits[0], args.ds_loops[0])
            if args.logprob_gap and "logprob_gap" not in extra and trainer.rollout is not None: extra["logprob_gap"] = logprob_gap(trainer, batch)
            if args.gaps and "gaps" not in extra: extra["gaps"] = idle_by_part(trainer, batch, train_batch_for(args, b), args.gaps)
            if args.cpu_profile and "cpu_profile" not in extra: extra["cpu_profile"] = cpu_profile(trainer, batch, train_batch_for(args, b), args.cpu_profile)
            if args.profile and "profile" not in extra: extra["profile"] = profile_training(trainer, batch, train_batch_for(args, b), args.profile)
    first = (args.attention[0], args.left_pad[0], args.gae[0], args.logits[0], args.ds_loops[0])
    by = {(r["engine"], r["batch"]): r for r in rows if (r["attention"], r["left_pad"], r["gae"], r["logits"], r["ds_loops"]) == first}
    speedup = {str(b): round(by[("fast", b)]["samples_per_s"] / by[("hf", b)]["samples_per_s"], 2)
               for b in args.batch if ("fast", b) in by and ("hf", b) in by}
    print("samples/s, fast / generate():", speedup)
    print(f"{'engine':6s} {'attention':10s} {'gae':6s} {'logits':6s} {'loops':9s} {'pad':>3s} {'batch':>5s} {'train':>5s} {'samples/s':>9s} {'gen':>5s} {'exp':>5s} {'train':>5s} {'MFU':>5s} {'peak GiB':>8s}")
    for r in rows:
        if "error" in r:
            print(f"{r['engine']} B={r['batch']} train_sms={r['train_sms']}: {r['error']}"); continue
        s = r["phase_share"]
        generation = next(v for k, v in s.items() if k.startswith("generation"))     # fast-overlap's: beside the rest
        print(f"{r['engine']:6s} {r['attention']:10s} {r['gae']:6s} {r['logits']:6s} {r['ds_loops']:9s} {r['left_pad']:3d} {r['batch']:5d} {r['train_batch']:5d} {r['samples_per_s']:9.2f} {generation:5.2f} "
              f"{s['experience']:5.2f} {s['training']:5.2f} {r['training_mfu'] or 0:5.3f} {r['peak_memory_gib'] or 0:8.2f}")
    write_results(args.out, {"actor": args.actor, "reward": args.reward, "dtype": dtype, "prompt_tokens": args.prompt,
                             "new_tokens": args.new, "zero_stages": {"actor": args.zero_stage, "critic": args.zero_stage},
                             "bf16_optimizer": args.bf16_optimizer, "immediate_grad_update": args.immediate_grad_update,
                             "zero_stages_built": {r: getattr(engine, r).zero_optimization_stage() for r in ("actor", "critic")},
                             "optimizer": "torch.optim.AdamW(fused=True)" if device.type == "cuda" else "torch.optim.AdamW",
                             "optimizer_wrappers": {r: type(getattr(engine, r).optimizer).__name__ for r in ("actor", "critic")},
                             "compiled_decoders": compiled, "logits": args.logits[0], "engine_init_s": round(init_s, 1), "rows": rows,
                             "fast_over_generate": speedup, **extra})

if __name__ == "__main__":
    main()
