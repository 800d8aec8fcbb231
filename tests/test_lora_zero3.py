"""LoRA under ZeRO-3 in bf16: the weights are partitioned and cast while they load, the adapters are added after.

DeepSpeed's ZeRO-3 optimizer needs one dtype across the trainable parameters (an assertion in `defragment`); this
failed on two H200s in the step-3 matrix (results/gpu/step3_matrix.json) before `match_partitioned_dtype`.
"""
from types import SimpleNamespace

import torch
from transformers import AutoModelForCausalLM

from rlhf_course.ds_utils import create_hf_model, get_train_ds_config, init_distributed, load_hf_tokenizer
from rlhf_course.harness import prepare_model
from rlhf_course.toyworld import load_toyworld


def test_lora_adapters_take_the_dtype_of_zero3_weights():
    init_distributed()
    path = load_toyworld().actor
    config = get_train_ds_config(False, "bf16", 3, None, 2, 1)
    model = create_hf_model(AutoModelForCausalLM, path, load_hf_tokenizer(path), ds_config=config)
    assert {p.dtype for p in model.parameters() if hasattr(p, "ds_id")} == {torch.bfloat16}   # partitioned and cast at load
    flags = SimpleNamespace(gradient_checkpointing=False, lora_dim=4, lora_module_name="decoder.layers.", only_optimize_lora=False)
    model = prepare_model(model, flags)
    lora = [p for n, p in model.named_parameters() if "lora_" in n]
    assert lora and {p.dtype for p in model.parameters() if p.requires_grad} == {torch.bfloat16}
