"""Several step-1/2 runs in one launch (tests/test_multirank.py): `python -m torch.distributed.run --nproc_per_node N
tests/multirank_steps12.py OUT PREFS MODELS CACHE module:stage ...` trains each `module` (sft or reward) at ZeRO `stage`
into OUT/module-zSTAGE, one after the other in the same process group: each run seeds, loads and builds its engine
afresh (as a launch of `-m rlhf_course.sft` does), so one launch replaces one per run and saves its start-up."""
import sys

from rlhf_course import reward, sft

MODULES = {"sft": (sft, "actor", "1,0,0"), "reward": (reward, "reward", "0,1,0")}


def run(out, prefs, models, cache, module: str, stage: int, world_size: int):
    mod, model, split = MODULES[module]
    argv = ["--model_name_or_path", f"{models}/{model}", "--data_path", f"local/jsonfile:{prefs}", "--data_split", split,
            "--per_device_train_batch_size", str(8 // world_size), "--num_train_epochs", "1", "--max_prompt_seq_len", "64",
            "--max_seq_len", "128", "--zero_stage", str(stage), "--data_output_path", cache,
            "--output_dir", f"{out}/{module}-z{stage}"]
    mod.main(argv + (["--n_gold_prompts", "0"] if module == "sft" else []))


if __name__ == "__main__":
    import os
    out, prefs, models, cache, *runs = sys.argv[1:]
    for spec in runs:
        module, stage = spec.split(":")
        run(out, prefs, models, cache, module, int(stage), int(os.environ["WORLD_SIZE"]))
