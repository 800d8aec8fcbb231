"""rlhf_course.ds_utils (chapter 02) and rlhf_course.checkpoints (02a): DeepSpeed configs, the process group, optimizer groups, LoRA and checkpoints.

Everything runs in this process (a world of one) with the toy world's tiny OPT models, on the CPU in CI (on a GPU
server the engines use the GPU). Two CPU ranks under torchrun, as a cluster starts them (ZeRO-3 partitions, the
gathered save), are chapter 02a's own check.
"""
import copy
import os

import deepspeed
import pytest
import torch
from transformers import AutoModelForCausalLM, OPTConfig, OPTForCausalLM

from rlhf_course.ds_utils import (check_ds_args, check_model_path, create_hf_model,
                                  enable_gradient_checkpointing, get_all_reduce_mean,
                                  get_eval_ds_config, get_lr_scheduler,
                                  get_optimizer_grouped_parameters, get_train_ds_config,
                                  init_distributed, load_hf_tokenizer, make_optimizer, skip_lone_allreduce,
                                  opt_param_count, print_rank_0, quiet_deepspeed,
                                  resize_embeddings_if_needed, set_random_seed, to_device,
                                  zero_memory_gb)
from rlhf_course.checkpoints import (atomic_output_dir, convert_linear_layer_to_lora,
                                     convert_lora_to_linear_layer, is_lora_model,
                                     lora_target_modules, only_optimize_lora_parameters,
                                     plain_state_dict, save_hf_format)
from rlhf_course.toyworld import load_toyworld
from rlhf_course.toymodels import MODEL_SHAPES, toy_opt

# torch's and transformers' deprecation notices are not this module's concern
pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"), pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def dist():
    torch.set_num_threads(2)
    rank, world_size, device = init_distributed()
    quiet_deepspeed()
    return rank, world_size, device


@pytest.fixture(scope="module")
def device(dist):
    return dist[2]


# the reloaded checkpoints run on the CPU; on a GPU the engine's kernels round differently
def tolerance(device): return dict(atol=2e-5, rtol=1e-4) if device.type == "cpu" else dict(atol=2e-2, rtol=1e-2)


@pytest.fixture(scope="module")
def toyworld():
    return load_toyworld()


@pytest.fixture(scope="module")
def tokenizer(toyworld):
    return load_hf_tokenizer(toyworld.tokenizer)


def ids(tokenizer, batch=2, length=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(4, len(tokenizer), (batch, length), generator=g)


# ---------------------------------------------------------------- configs and their checks

@pytest.mark.parametrize("stage", [0, 1, 2, 3])
@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_train_config_sections_per_stage_and_dtype(stage, dtype):
    cfg = get_train_ds_config(offload=False, dtype=dtype, stage=stage, train_micro_batch_size_per_gpu=4,
                              gradient_accumulation_steps=2, gradient_clipping=0.5, world_size=2)
    assert cfg["zero_optimization"]["stage"] == stage
    assert (cfg["train_batch_size"], cfg["train_micro_batch_size_per_gpu"], cfg["gradient_accumulation_steps"]) == (16, 4, 2)
    assert cfg["gradient_clipping"] == 0.5
    assert cfg["zero_optimization"]["offload_optimizer"]["device"] == "none"
    assert cfg["zero_optimization"]["offload_param"]["device"] == "none"
    assert ("fp16" in cfg, "bf16" in cfg) == (dtype == "fp16", dtype == "bf16")
    if dtype != "fp32": assert cfg[dtype]["enabled"] is True
    assert cfg["zero_allow_untested_optimizer"] is True and cfg["zero_force_ds_cpu_optimizer"] is False


@pytest.mark.parametrize("stage,world,offload,flat,built", [
    (0, 1, False, True, 1), (1, 1, False, True, 1), (1, 4, False, True, 1),     # BF16_Optimizer (ZeRO-1 on one rank: nothing split)
    (0, 2, False, False, 0), (2, 1, False, False, 2), (2, 1, True, False, 2), (3, 1, False, False, 3)])
def test_bf16_trains_through_the_flat_optimizer_where_deepspeed_allows_it(stage, world, offload, flat, built):
    cfg = get_train_ds_config(offload, "bf16", stage, world_size=world)
    assert (cfg.get("data_types"), cfg["zero_optimization"]["stage"]) == ({"grad_accum_dtype": "fp32"} if flat else None, built)
    off = get_train_ds_config(offload, "bf16", stage, world_size=world, bf16_optimizer=False)
    assert ("data_types" in off, off["zero_optimization"]["stage"]) == (False, stage)
    assert "data_types" not in get_train_ds_config(offload, "fp32", stage, world_size=world)


def bf16_engine(model):
    return deepspeed.initialize(model=model, optimizer=torch.optim.AdamW(model.parameters()),
                                config=get_train_ds_config(False, "bf16", 0, None, 2, world_size=1))[0]


def test_bf16_optimizer_memory_reports_follow_deepspeeds_log_level(capsys):
    init_distributed()
    try:
        quiet_deepspeed("INFO")
        bf16_engine(torch.nn.Linear(8, 1).to(torch.bfloat16))
        assert "begin bf16_optimizer" in capsys.readouterr().out
        quiet_deepspeed()
        bf16_engine(torch.nn.Linear(8, 1).to(torch.bfloat16))
        assert "bf16_optimizer" not in capsys.readouterr().out
    finally:
        quiet_deepspeed()


def test_a_bf16_engine_on_one_rank_gets_bf16_optimizer_and_skipping_its_lone_all_reduce_changes_nothing():
    from deepspeed.runtime.bf16_optimizer import BF16_Optimizer
    init_distributed()
    weights = {}
    for skip in (False, True):
        torch.manual_seed(0)
        model = torch.nn.Linear(8, 1).to(torch.bfloat16)
        engine = bf16_engine(model)
        assert isinstance(engine.optimizer, BF16_Optimizer)
        if skip: assert skip_lone_allreduce(engine).enable_backward_allreduce is False
        before = model.weight.detach().clone()
        for _ in range(3):
            loss = engine(torch.arange(16.0).view(2, 8).to(torch.bfloat16)).float().pow(2).mean()
            engine.backward(loss); engine.step()
        assert not torch.equal(model.weight.detach(), before)      # the fp32 gradients reached the step
        weights[skip] = model.weight.detach().clone()
    assert torch.equal(weights[False], weights[True])             # a sum over one rank is the gradient itself


@pytest.mark.parametrize("stage,offload_param", [(2, "none"), (3, "cpu")])
def test_offload_moves_optimizer_states_and_at_stage_3_the_weights(stage, offload_param):
    zero = get_train_ds_config(offload=True, dtype="bf16", stage=stage, world_size=1)["zero_optimization"]
    assert zero["offload_optimizer"]["device"] == "cpu"
    assert zero["offload_param"]["device"] == offload_param
    assert get_train_ds_config(True, "bf16", 3, offload_param=False, world_size=1)["zero_optimization"]["offload_param"]["device"] == "none"


def test_train_batch_size_is_derived_or_checked():
    assert get_train_ds_config(False, "fp32", 0, train_micro_batch_size_per_gpu=3, gradient_accumulation_steps=4, world_size=8)["train_batch_size"] == 96
    assert get_train_ds_config(False, "fp32", 0, train_batch_size=96, train_micro_batch_size_per_gpu=3,
                               gradient_accumulation_steps=4, world_size=8)["train_batch_size"] == 96


@pytest.mark.parametrize("change,message", [
    (dict(zero_stage=4), "--zero_stage must be 0, 1, 2 or 3, got 4"),
    (dict(zero_stage=-1), "--zero_stage must be 0, 1, 2 or 3, got -1"),
    (dict(zero_stage="2"), "--zero_stage must be 0, 1, 2 or 3, got '2'"),
    (dict(zero_stage=True), "--zero_stage must be 0, 1, 2 or 3, got True"),
    (dict(zero_stage=0, offload=True), "--offload needs --zero_stage 2 or 3"),
    (dict(zero_stage=1, offload=True), "--offload needs --zero_stage 2 or 3, got --zero_stage 1"),
    (dict(zero_stage=2, offload_param=True), "offload_param needs --zero_stage 3"),
    (dict(dtype="float16"), "--dtype must be one of fp32, fp16, bf16, got 'float16'"),
    (dict(train_batch_size=30), "train_batch_size 30 must equal --per_device_train_batch_size 4 x world size 2 x "
                                "--gradient_accumulation_steps 4 = 32"),
    (dict(per_device_train_batch_size=0), "--per_device_train_batch_size must be a positive int, got 0"),
    (dict(gradient_accumulation_steps=1.5), "--gradient_accumulation_steps must be a positive int, got 1.5"),
    (dict(world_size=0), "world size must be a positive int, got 0"),
    (dict(dtype="fp16", device="cpu"), "--dtype fp16 is not supported on the CPU"),
])
def test_bad_ds_args_get_one_error_naming_the_flag(change, message):
    args = dict(zero_stage=3, offload=False, dtype="bf16", per_device_train_batch_size=4, gradient_accumulation_steps=4,
                world_size=2)
    assert check_ds_args(**args) == 32
    with pytest.raises(ValueError) as e:
        check_ds_args(**{**args, **change})
    assert message in str(e.value)


def test_train_config_checks_before_building():
    with pytest.raises(ValueError, match="--offload needs --zero_stage 2 or 3"):
        get_train_ds_config(offload=True, dtype="fp32", stage=1, world_size=1)
    with pytest.raises(ValueError, match="--dtype must be one of"):
        get_train_ds_config(offload=False, dtype="half", stage=0, world_size=1)


def test_bf16_is_accepted_on_the_cpu():
    assert check_ds_args(0, False, "bf16", device="cpu") == 1


@pytest.mark.parametrize("stage", [0, 3])
def test_eval_config_for_frozen_models(stage):
    cfg = get_eval_ds_config(offload=stage == 3, dtype="bf16", stage=stage, world_size=1)
    assert cfg["zero_optimization"]["stage"] == stage
    assert cfg["zero_optimization"]["offload_param"]["device"] == ("cpu" if stage == 3 else "none")
    assert "offload_optimizer" not in cfg["zero_optimization"] and cfg["bf16"]["enabled"]


@pytest.mark.parametrize("stage", [1, 2])
def test_eval_config_refuses_zero_1_and_2(stage):
    with pytest.raises(ValueError, match=f"--zero_stage {stage} cannot hold a frozen model"):
        get_eval_ds_config(offload=False, dtype="fp32", stage=stage, world_size=1)


def test_eval_config_refuses_weight_offload_below_stage_3():
    with pytest.raises(ValueError, match="needs --zero_stage 3"):
        get_eval_ds_config(offload=True, dtype="fp32", stage=0, world_size=1)


@pytest.mark.parametrize("stage,works", [(0, True), (1, False), (2, False), (3, True)])
def test_deepspeed_itself_cannot_wrap_a_frozen_model_at_zero_1_2(device, tokenizer, stage, works):
    "The fact behind get_eval_ds_config's rule; if DeepSpeed ever lifts it, this test says so."
    cfg = {"train_batch_size": 1, "train_micro_batch_size_per_gpu": 1, "zero_optimization": {"stage": stage}}
    model = toy_opt("actor", tokenizer)
    if works:
        engine, *_ = deepspeed.initialize(model=model, config=cfg)
        with torch.no_grad(): assert engine(input_ids=ids(tokenizer).to(device)).logits.shape[-1] == len(tokenizer)
    else:
        with pytest.raises(AssertionError, match="requires an optimizer"):
            deepspeed.initialize(model=model, config=cfg)


# ---------------------------------------------------------------- memory model

def test_zero_memory_matches_the_zero_paper():
    for stage, paper_gb in {0: 120, 1: 31.4, 2: 16.6, 3: 1.88}.items():
        assert zero_memory_gb(7.5e9, 64, stage) == pytest.approx(paper_gb, abs=0.05)
    assert zero_memory_gb(1e9, 8, 2, offload=True) == pytest.approx(2 + 2 / 8)
    assert zero_memory_gb(1e9, 8, 3, offload=True) == pytest.approx(4 / 8)
    with pytest.raises(ValueError, match="--offload needs --zero_stage 2 or 3"):
        zero_memory_gb(1e9, 8, 0, offload=True)


def test_opt_param_count_matches_transformers(tokenizer):
    with torch.device("meta"):
        model = OPTForCausalLM(OPTConfig(hidden_size=2048, num_hidden_layers=24, ffn_dim=8192, num_attention_heads=32))
    assert opt_param_count(2048, 24) == sum(p.numel() for p in model.parameters())
    for shape in MODEL_SHAPES:
        c = toy_opt(shape, tokenizer).config
        n = sum(p.numel() for p in toy_opt(shape, tokenizer).parameters())
        assert opt_param_count(c.hidden_size, c.num_hidden_layers, c.ffn_dim, c.vocab_size, c.max_position_embeddings,
                               c.word_embed_proj_dim, final_layer_norm=c.do_layer_norm_before) == n


# ---------------------------------------------------------------- process group and helpers

def test_init_distributed_alone_and_twice(dist):
    rank, world_size, device = dist
    assert (rank, world_size, device.type) == (0, 1, "cuda" if torch.cuda.is_available() else "cpu")
    assert torch.distributed.get_backend() == ("nccl" if torch.cuda.is_available() else "gloo")
    assert init_distributed() == dist
    assert os.environ["MASTER_PORT"] == "0" and os.environ["WORLD_SIZE"] == "1"   # alone: the store binds a port the OS picks


def test_all_reduce_mean_copies_and_to_device(dist, capsys):
    x = torch.tensor([2.0, 4.0])
    assert torch.equal(get_all_reduce_mean(x), x) and get_all_reduce_mean(x) is not x
    batch = to_device({"input_ids": torch.ones(1, 2), "name": "kept"}, "cpu")
    assert batch["name"] == "kept" and batch["input_ids"].device.type == "cpu"
    print_rank_0("rank 0 speaks"); print_rank_0("rank 1 does not", rank=1)
    assert capsys.readouterr().out == "rank 0 speaks\n"


def test_set_random_seed_repeats_draws():
    set_random_seed(3); a = torch.rand(4)
    set_random_seed(3); assert torch.equal(torch.rand(4), a)


# ---------------------------------------------------------------- models and tokenizers

@pytest.mark.parametrize("path", ["../nowhere/model", "/no/such/model", "data/toyworld/models/actr"])
def test_missing_local_model_path_is_named(path, monkeypatch, root):
    monkeypatch.chdir(root)
    with pytest.raises(FileNotFoundError, match=f"model path not found: {path}"):
        check_model_path(path)
    with pytest.raises(FileNotFoundError, match="model path not found"):
        create_hf_model(AutoModelForCausalLM, path, None)


def test_hub_ids_and_local_folders_pass(toyworld):
    for hub_id in ("facebook/opt-1.3b", "gpt2", "EleutherAI/pythia-70m"):
        assert check_model_path(hub_id) == hub_id
    assert check_model_path(toyworld.actor) == str(toyworld.actor)


def test_create_hf_model_sets_ids_dropout_and_resizes_only_when_needed(toyworld):
    tokenizer = load_hf_tokenizer(toyworld.actor)
    model = create_hf_model(AutoModelForCausalLM, toyworld.actor, tokenizer, dropout=0.2)
    rows = model.get_input_embeddings().num_embeddings
    assert (model.config.dropout, model.config.attention_dropout) == (0.2, 0.2)
    assert (model.config.pad_token_id, model.config.end_token_id) == (tokenizer.pad_token_id, tokenizer.eos_token_id)
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    assert rows == len(tokenizer) and not resize_embeddings_if_needed(model, tokenizer)
    bigger = load_hf_tokenizer(toyworld.actor, add_special_tokens=["<|endoftext|>", "<extra>"])
    model = create_hf_model(AutoModelForCausalLM, toyworld.actor, bigger)
    assert model.get_input_embeddings().num_embeddings == 8 * -(-len(bigger) // 8) > rows
    with pytest.raises(ValueError, match="--dropout must be in"):
        create_hf_model(AutoModelForCausalLM, toyworld.actor, tokenizer, dropout=1.5)


def test_create_hf_model_under_zero3_loads_into_partitions(device, toyworld, tokenizer):
    cfg = get_eval_ds_config(offload=False, dtype="fp32", stage=3)
    model = create_hf_model(AutoModelForCausalLM, toyworld.actor, tokenizer, ds_config=cfg)
    assert all(hasattr(p, "ds_id") and p.numel() == 0 for p in model.parameters())
    engine, *_ = deepspeed.initialize(model=model, config=cfg)
    plain = AutoModelForCausalLM.from_pretrained(toyworld.actor)   # HfDeepSpeedConfig is gone: a whole model again
    assert not any(hasattr(p, "ds_id") for p in plain.parameters())
    x = ids(tokenizer)
    with torch.no_grad():
        torch.testing.assert_close(engine(input_ids=x.to(device)).logits.cpu(), plain(input_ids=x).logits, **tolerance(device))


def test_gradient_checkpointing_keeps_the_gradients(toyworld, tokenizer):
    x = ids(tokenizer)
    grads = []
    for checkpoint in (False, True):
        model = AutoModelForCausalLM.from_pretrained(toyworld.actor).train()
        if checkpoint:
            enable_gradient_checkpointing(model)
            assert model.config.use_cache is False
        model(input_ids=x, labels=x).loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------- optimizer and schedule

@pytest.mark.parametrize("shape", ["actor", "reward"])
def test_param_groups_cover_every_parameter_once(tokenizer, shape):
    model = toy_opt(shape, tokenizer)
    groups = get_optimizer_grouped_parameters(model, weight_decay=0.1)
    grouped = [id(p) for g in groups for p in g["params"]]
    assert len(grouped) == len(set(grouped)) == len({id(p) for p in model.parameters()})
    names = {id(p): n for n, p in model.named_parameters()}
    decay, no_decay = ([names[id(p)] for p in g["params"]] for g in groups)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    assert all(n.endswith(".bias") or "layer_norm" in n for n in no_decay)
    assert all(n.endswith(".weight") and "layer_norm" not in n for n in decay)
    layer_norms = [n for n, m in model.named_modules() if isinstance(m, torch.nn.LayerNorm)]
    assert {f"{n}.weight" for n in layer_norms} <= set(no_decay)


def test_param_groups_find_norms_by_type_and_skip_frozen():
    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj, self.gain = torch.nn.Linear(4, 4), torch.nn.LayerNorm(4)
    model = Block()
    model.proj.bias.requires_grad_(False)
    groups = get_optimizer_grouped_parameters(model, 0.01, no_decay_name_list=("bias",))
    assert [len(g["params"]) for g in groups] == [1, 2]   # proj.weight | gain.weight, gain.bias (frozen proj.bias left out)
    assert groups[1]["params"][0] is model.gain.weight


def test_lora_parameters_get_their_own_learning_rate(tokenizer):
    model = convert_linear_layer_to_lora(toy_opt("actor", tokenizer), "decoder.layers.", lora_dim=2)
    groups = get_optimizer_grouped_parameters(model, 0.0, lora_lr=5e-4)
    lora_group = [g for g in groups if g.get("lr") == 5e-4]
    assert len(lora_group) == 1 and len(lora_group[0]["params"]) == 2 * len(lora_target_modules(toy_opt("actor", tokenizer), "decoder.layers."))
    optimizer = make_optimizer(groups, lr=1e-3, device="cpu")
    assert type(optimizer) is torch.optim.AdamW
    assert sorted(g["lr"] for g in optimizer.param_groups) == [5e-4, 1e-3, 1e-3]


def test_make_optimizer_refuses_a_non_positive_lr():
    with pytest.raises(ValueError, match="--learning_rate must be positive"):
        make_optimizer([torch.nn.Parameter(torch.zeros(1))], lr=0.0, device="cpu")


def test_cosine_schedule_warms_up_and_decays():
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    scheduler = get_lr_scheduler(optimizer, "cosine", num_warmup_steps=4, num_training_steps=20)
    lrs = []
    for _ in range(20):
        lrs.append(scheduler.get_last_lr()[0]); optimizer.step(); scheduler.step()
    assert lrs[0] == 0 and lrs[4] == pytest.approx(2.0) and lrs[2] == pytest.approx(1.0)
    assert lrs[12] == pytest.approx(1.0) and lrs[-1] < 0.05
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))


@pytest.mark.parametrize("kw,message", [
    (dict(name="cosinus"), "--lr_scheduler_type 'cosinus' is not one of"),
    (dict(num_warmup_steps=11), "--num_warmup_steps must be in [0, 10]"),
    (dict(num_warmup_steps=-1), "--num_warmup_steps must be in [0, 10]"),
    (dict(num_training_steps=0), "num_training_steps must be at least 1"),
])
def test_bad_schedule_arguments(kw, message):
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    args = {"name": "cosine", "num_warmup_steps": 0, "num_training_steps": 10, **kw}
    with pytest.raises(ValueError) as e:
        get_lr_scheduler(optimizer, **args)
    assert message in str(e.value)


# ---------------------------------------------------------------- LoRA

def test_lora_targets_the_named_linears_and_freezes_on_request(tokenizer):
    model = convert_linear_layer_to_lora(toy_opt("actor", tokenizer), "decoder.layers.", lora_dim=4)
    assert is_lora_model(model)
    assert all(p.requires_grad for p in model.parameters())          # DeepSpeed-Chat: base weights keep training
    lora_layers = {n.split(".lora_")[0] for n, _ in model.named_parameters() if "lora_" in n}
    assert len(lora_layers) == 6 * MODEL_SHAPES["actor"]["num_hidden_layers"]   # q, k, v, out, fc1, fc2
    assert not any("lm_head" in n for n in lora_layers)
    only_optimize_lora_parameters(model)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert len(trainable) == 2 * len(lora_layers)


def test_lora_module_name_that_matches_nothing_lists_real_names(tokenizer):
    with pytest.raises(ValueError) as e:
        convert_linear_layer_to_lora(toy_opt("actor", tokenizer), "transformer.h.", lora_dim=4)
    message = str(e.value)
    assert "--lora_module_name 'transformer.h.' matches no Linear layer of OPTForCausalLM" in message
    assert "model.decoder.layers.0.self_attn.k_proj" in message and "lm_head" in message


@pytest.mark.parametrize("lora_dim", [0, -2, 2.0, True])
def test_bad_lora_dim(tokenizer, lora_dim):
    with pytest.raises(ValueError, match="--lora_dim must be a positive int"):
        convert_linear_layer_to_lora(toy_opt("actor", tokenizer), "decoder.layers.", lora_dim=lora_dim)


def test_only_optimize_lora_without_lora(tokenizer):
    with pytest.raises(ValueError, match="--only_optimize_lora needs LoRA"):
        only_optimize_lora_parameters(toy_opt("actor", tokenizer))


def trained_lora(tokenizer, lora_dim=4):
    model = convert_linear_layer_to_lora(toy_opt("actor", tokenizer), "decoder.layers.", lora_dim=lora_dim, lora_alpha=2.0)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n: p.normal_(0, 0.2, generator=torch.Generator().manual_seed(1))
    return model


def test_plain_state_dict_merges_like_merge_and_unload(tokenizer):
    model = trained_lora(tokenizer)
    x = ids(tokenizer)
    with torch.no_grad(): adapted = model(input_ids=x).logits
    merged = plain_state_dict(model)
    reference = copy.deepcopy(model).merge_and_unload().state_dict()
    assert sorted(merged) == sorted(reference)
    for k in reference: torch.testing.assert_close(merged[k], reference[k])
    plain = convert_lora_to_linear_layer(model)                      # in place, DeepSpeed-Chat's name
    assert not is_lora_model(plain) and type(plain).__name__ == "OPTForCausalLM"
    with torch.no_grad(): torch.testing.assert_close(plain(input_ids=x).logits, adapted, atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------- saving

def engine_for(model, stage, device, offload=False):
    cfg = get_train_ds_config(offload, "fp32", stage, train_micro_batch_size_per_gpu=2, world_size=1)
    optimizer = make_optimizer(get_optimizer_grouped_parameters(model, 0.0), lr=1e-2, offload=offload, device=device)
    engine, *_ = deepspeed.initialize(model=model, optimizer=optimizer, config=cfg)
    return engine


def train_a_little(engine, tokenizer, steps=3):
    for step in range(steps):
        x = ids(tokenizer, seed=step).to(engine.device)
        loss = engine(input_ids=x, labels=x).loss
        engine.backward(loss); engine.step()


@pytest.mark.parametrize("stage,lora,offload", [(0, False, False), (2, False, True), (3, False, False), (3, True, False)])
def test_save_from_engine_reloads_to_identical_logits(device, tokenizer, tmp_path, stage, lora, offload):
    model = trained_lora(tokenizer) if lora else toy_opt("actor", tokenizer)
    if lora: only_optimize_lora_parameters(model)
    engine = engine_for(model, stage, device, offload)
    train_a_little(engine, tokenizer)
    if stage == 3: assert any(p.numel() == 0 for p in engine.module.parameters())   # partitioned (small ones stay whole)
    out = save_hf_format(engine, tokenizer, tmp_path / "ckpt", zero_stage=stage)
    assert out == tmp_path / "ckpt" and (out / "tokenizer.json").is_file()
    reloaded = AutoModelForCausalLM.from_pretrained(out)               # plain transformers, no peft, no DeepSpeed
    assert type(reloaded).__name__ == "OPTForCausalLM"
    x = ids(tokenizer, seed=9)
    engine.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids=x).logits, engine(input_ids=x.to(device)).logits.cpu(), **tolerance(device))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]             # no temporary folders left behind


def test_save_on_another_rank_writes_nothing(tokenizer, tmp_path):
    assert save_hf_format(toy_opt("actor", tokenizer), tokenizer, tmp_path / "ckpt", rank=1) is None
    assert not (tmp_path / "ckpt").exists()


def test_interrupted_save_keeps_the_finished_checkpoint(tokenizer, tmp_path, monkeypatch):
    first = toy_opt("actor", tokenizer, seed=0)
    save_hf_format(first, tokenizer, tmp_path / "ckpt")
    def killed(*args, **kwargs): raise KeyboardInterrupt("killed mid-save")
    monkeypatch.setattr(type(tokenizer), "save_pretrained", killed)
    with pytest.raises(KeyboardInterrupt):
        save_hf_format(toy_opt("actor", tokenizer, seed=1), tokenizer, tmp_path / "ckpt")
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "ckpt")
    torch.testing.assert_close(reloaded.model.decoder.embed_tokens.weight, first.model.decoder.embed_tokens.weight)


def test_atomic_output_dir_replaces_only_when_finished(tmp_path):
    target = tmp_path / "out"
    with atomic_output_dir(target) as d:
        (d / "a.txt").write_text("1")
        assert not target.exists()                                       # invisible until finished
    with atomic_output_dir(target) as d: (d / "b.txt").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]         # replaced, not merged
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_save_refuses_a_model_without_save_pretrained(tmp_path):
    with pytest.raises(TypeError, match="Linear has no save_pretrained"):
        save_hf_format(torch.nn.Linear(2, 2), None, tmp_path / "x")


# ---------------------------------------------------------------- training semantics

def test_gradient_accumulation_matches_a_bigger_micro_batch(device, tokenizer):
    "micro-batch 2 x 2 accumulation steps updates exactly as micro-batch 4 (the config's batch-size arithmetic)."
    x = ids(tokenizer, batch=4, seed=5).to(device)
    final = []
    for micro, accumulation in ((4, 1), (2, 2)):
        set_random_seed(0)
        model = toy_opt("actor", tokenizer)
        cfg = get_train_ds_config(False, "fp32", 2, train_micro_batch_size_per_gpu=micro,
                                  gradient_accumulation_steps=accumulation, world_size=1)
        engine, *_ = deepspeed.initialize(model=model, config=cfg,
                                          optimizer=make_optimizer(model.parameters(), lr=1e-3, device=device))
        for _ in range(2):
            for chunk in x.split(micro):
                engine.backward(engine(input_ids=chunk, labels=chunk).loss); engine.step()
        final.append(torch.cat([p.detach().flatten() for p in engine.module.parameters()]))
    # Adam divides by sqrt(v): where a gradient is ~0, rounding alone moves a weight by up to lr, so compare at lr / 10
    torch.testing.assert_close(final[0], final[1], atol=1e-4, rtol=0)
