"""Data abstraction: every adapter on its fixture (the source's real columns), splitting, blending, caching,
bad-row policies, and rank 0 building the cache while another rank waits."""
import json
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from rlhf_course.data import (RAW_DATASETS, DataError, blend_indices, cache_key, create_prompt_dataset, get_raw_dataset,
                              get_unsupervised_data, phase_indices)
from rlhf_course.toyworld import load_toyworld

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"
HUB_SOURCES = [n for n in RAW_DATASETS if "/" in n and n != "local/jsonfile"]


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(load_toyworld().tokenizer)


def fixture_spec(name, weight=None):
    return f"{name}={FIXTURES / name.replace('/', '__')}" + (f":{weight}" if weight else "")


@pytest.mark.parametrize("name", HUB_SOURCES)
def test_adapter_reads_its_fixture(name):
    raw = get_raw_dataset(fixture_spec(name))
    for split in (raw.get_train_data(), raw.get_eval_data()):
        assert len(split) > 0
        for row in split:
            prompt, chosen = raw.get_prompt(row), raw.get_chosen(row)
            assert prompt.rstrip().endswith("Assistant:") and "Human:" in prompt, prompt
            assert chosen.strip() and not chosen.startswith("Assistant:")
            if raw.has_rejected:
                assert raw.get_rejected(row).strip() and raw.get_prompt_and_rejected(row) == prompt + raw.get_rejected(row)
            else:
                assert raw.get_rejected(row) is None


def test_all_named_sources_are_registered():
    assert set(HUB_SOURCES) == {"Dahoas/rm-static", "Dahoas/full-hh-rlhf", "Dahoas/synthetic-instruct-gptj-pairwise",
                                "yitingxie/rlhf-reward-datasets", "openai/webgpt_comparisons", "stanfordnlp/SHP",
                                "wangrui6/Zhihu-KOL", "Hello-SimpleAI/HC3-Chinese"}
    assert {"local/jsonfile", "toyworld"} <= set(RAW_DATASETS)


def test_webgpt_prefers_the_higher_score_drops_ties_and_citations(tokenizer, tmp_path):
    raw = get_raw_dataset(fixture_spec("openai/webgpt_comparisons"))
    row = raw.get_train_data().filter(lambda r: r["score_0"] != r["score_1"])[0]
    better = row["answer_0"] if row["score_0"] > row["score_1"] else row["answer_1"]
    assert raw.get_chosen(row).strip() == better.split(" [")[0] and "[" not in raw.get_chosen(row)
    # the whole source goes to step 2 (split 0,1,0) so the fixture's one tie must be counted
    train, evl = create_prompt_dataset([fixture_spec("openai/webgpt_comparisons")], "0,1,0", 2, tokenizer, 64, 128,
                                       cache_dir=tmp_path)
    ties = sum(s["dropped"]["tie"] for ds in (train, evl) for s in ds.stats["sources"].values())
    assert ties == 1


def test_sft_only_sources(tokenizer, tmp_path):
    zhihu = fixture_spec("wangrui6/Zhihu-KOL")
    with pytest.raises(DataError, match="Zhihu-KOL has no rejected answers.*--sft_only_data_path"):
        create_prompt_dataset([zhihu], "2,4,4", 2, tokenizer, 64, 128, cache_dir=tmp_path)
    only_toy, _ = create_prompt_dataset(["toyworld"], "2,4,4", 1, tokenizer, 64, 128, cache_dir=tmp_path)
    with_zhihu, _ = create_prompt_dataset(["toyworld"], "2,4,4", 1, tokenizer, 64, 128, cache_dir=tmp_path,
                                          sft_only_data_path=[zhihu])
    added = with_zhihu.stats["sources"][f"wangrui6/Zhihu-KOL={FIXTURES / 'wangrui6__Zhihu-KOL'}"]
    assert len(with_zhihu) == len(only_toy) + added["in_blend"] and added["in_blend"] > 0


def test_split_is_disjoint_seeded_and_complete():
    parts = [phase_indices(10_001, "2,4,4", p, seed=7) for p in (1, 2, 3)]
    assert sum(map(len, parts)) == 10_001 and len(set().union(*map(set, parts))) == 10_001
    assert (phase_indices(10_001, "2,4,4", 2, seed=7) == parts[1]).all()
    assert not (phase_indices(10_001, "2,4,4", 2, seed=8) == parts[1]).all()


@pytest.mark.parametrize("weights", [[0.3, 0.7], [1, 1, 2], [0.05, 0.95]])
def test_weighted_blend_proportions_within_2_percent(weights):
    sizes = [10_000, 500, 3_000][: len(weights)]
    blend = blend_indices(sizes, weights, seed=0)
    assert abs(len(blend) - sum(sizes)) <= len(weights)
    for s, w in enumerate(weights):
        assert abs(sum(src == s for src, _ in blend) / len(blend) - w / sum(weights)) < 0.02


def test_changing_a_local_file_changes_the_cache_key(tokenizer, tmp_path):
    folder = tmp_path / "prefs"; folder.mkdir()
    row = {"prompt": " Human: hi Assistant:", "chosen": " hello", "rejected": " go away"}
    (folder / "train.jsonl").write_text(json.dumps(row) + "\n")
    key = lambda: cache_key([f"local/jsonfile:{folder}"], [], "2,4,4", 1, 1, tokenizer, 64, 128, True)
    before = key()
    (folder / "train.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    assert key() != before


def write_rows(folder, rows, eval_rows=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (eval_rows or rows[:1])))
    return f"local/jsonfile:{folder}"


def test_bad_rows_error_or_are_counted(tokenizer, tmp_path):
    good = {"prompt": " Human: What is 2 plus 2? Assistant:", "chosen": " 2 plus 2 is 4.", "rejected": " 5."}
    src = write_rows(tmp_path / "a", [good, {**good, "chosen": " "}, {**good, "rejected": good["chosen"]},
                                      {**good, "prompt": " Human: " + "very " * 80 + "long? Assistant:"}, good])
    train, _ = create_prompt_dataset([src], "0,1,0", 2, tokenizer, 64, 256, cache_dir=tmp_path)
    dropped = next(iter(train.stats["sources"].values()))["dropped"]
    assert dropped == {"duplicate": 1, "empty": 1, "identical": 1, "tie": 0, "too_long": 1} and len(train) == 1
    bad = write_rows(tmp_path / "b", [good, {"prompt": good["prompt"], "chosen": None, "rejected": " x"}])
    with pytest.raises(DataError, match=r"local/jsonfile train row 1: chosen is NoneType, not a string"):
        create_prompt_dataset([bad], "0,1,0", 2, tokenizer, 64, 256, cache_dir=tmp_path)
    missing = write_rows(tmp_path / "c", [{"prompt": good["prompt"], "chosen": " y"}])
    with pytest.raises(DataError, match="train row 0: cannot read it"):
        create_prompt_dataset([missing], "0,1,0", 2, tokenizer, 64, 256, cache_dir=tmp_path)


def test_ptx_blocks_from_a_text_file(tokenizer, tmp_path):
    ptx = get_unsupervised_data(str(load_toyworld().corpus), tokenizer, 32, max_blocks=10)
    assert len(ptx) == 10 and all(len(r["input_ids"]) == 32 and r["labels"] == r["input_ids"] for r in ptx)
    with pytest.raises(DataError, match="file not found"):
        get_unsupervised_data(str(tmp_path / "none.txt"), tokenizer, 32)


def _rank_worker(rank, world_size, init_file, cache_dir, out_dir):
    import torch.distributed as dist
    from transformers import AutoTokenizer
    from rlhf_course.data import create_prompt_dataset
    from rlhf_course.toyworld import load_toyworld
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    import contextlib, io
    tok = AutoTokenizer.from_pretrained(load_toyworld().tokenizer)
    log = io.StringIO()
    with contextlib.redirect_stdout(log):   # a build prints its statistics; loading from the cache does not
        train, _ = create_prompt_dataset(["toyworld"], "2,4,4", 3, tok, 64, 128, cache_dir=cache_dir)
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps({"n": len(train), "first": train[0]["prompt"],
                                                             "built": "step 3 train" in log.getvalue()}))
    dist.destroy_process_group()


def test_rank0_builds_the_cache_while_rank1_waits(tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    out.mkdir()
    torch.multiprocessing.spawn(_rank_worker, args=(2, str(tmp_path / "init"), str(cache), str(out)), nprocs=2)
    results = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r.pop("built") for r in results] == [True, False]
    assert results[0] == results[1] and results[0]["n"] > 0
    built = [p for p in cache.iterdir() if p.name.startswith("phase3-") and p.suffix != ".lock"]   # the builders' lock stays
    assert len(built) == 1   # built once, no temp leftovers
