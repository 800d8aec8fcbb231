"""The committed toy world (data/toyworld) is what its generator makes, and its models are what its manifest says."""
import filecmp
import json
import shutil

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlhf_course.toyworld import ToyWorldDataError, build_text_data, load_toyworld
from rlhf_course.toymodels import build_toyworld, corpus_blocks, perplexity, split_blocks


@pytest.fixture(scope="module")
def committed():
    return load_toyworld()


def test_text_data_regenerates_byte_for_byte(committed, tmp_path):
    m = committed.manifest
    regenerated, _, _ = build_text_data(tmp_path, m["seed"], **m["build"])
    for rel in ("corpus.txt", "prefs/train.jsonl", "prefs/eval.jsonl", "tokenizer/tokenizer.json",
                "tokenizer/tokenizer_config.json"):
        assert filecmp.cmp(tmp_path / rel, committed.root / rel, shallow=False), f"{rel} differs when regenerated"
    assert regenerated["preferences"] == m["preferences"]


def test_committed_sizes_and_label_noise(committed):
    m = committed.manifest
    assert m["corpus_bytes"] >= 1_000_000
    assert m["preferences"]["train"]["pairs"] >= 10_000 and m["preferences"]["eval"]["pairs"] >= 1_000
    for split in ("train", "eval"):
        assert 0.10 <= m["preferences"][split]["label_disagrees_with_gold"] <= 0.30
    rows = [json.loads(l) for l in (committed.prefs / "eval.jsonl").read_text().splitlines()]
    assert all(set(r) == {"prompt", "chosen", "rejected"} and r["prompt"].startswith(" Human: ")
               and r["prompt"].endswith(" Assistant:") for r in rows)


@pytest.mark.parametrize("shape", ["actor", "reward"])
def test_models_load_and_reach_the_recorded_perplexity(committed, shape):
    path = committed.root / "models" / shape
    assert sum(f.stat().st_size for f in path.iterdir()) < 10e6
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (2, 2, 1)
    _, held_out = split_blocks(corpus_blocks(tokenizer, committed.documents()))
    torch.set_num_threads(2)
    assert perplexity(model, held_out) == pytest.approx(committed.manifest["models"][shape]["held_out_perplexity"], rel=0.01)


def test_reward_base_has_opt350m_quirks(committed):
    config = AutoModelForCausalLM.from_pretrained(committed.reward).config
    assert config.word_embed_proj_dim != config.hidden_size and config.do_layer_norm_before is False


def test_bad_inputs_get_one_clear_error(committed, tmp_path):
    with pytest.raises(TypeError, match="seed must be an int, got str"):
        build_toyworld(tmp_path / "w", seed="0")
    with pytest.raises(ToyWorldDataError, match="toy-world folder not found"):
        load_toyworld(tmp_path / "missing")
    copy = tmp_path / "copy"
    shutil.copytree(committed.root, copy)
    (copy / "corpus.txt").write_text("tampered\n")
    with pytest.raises(ToyWorldDataError, match="corpus.txt: corrupted"):
        load_toyworld(copy)
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(ToyWorldDataError, match="manifest.json: not valid JSON"):
        load_toyworld(copy)
