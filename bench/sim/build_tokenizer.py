"""Build the small tokenizer shipped in bench/sim/tokenizer/ (deterministically).

The real Qwen2 tokenizer (151,646 tokens, 7 MB) cannot be downloaded in tests, so the kit
ships a byte-level BPE of the same family: the same pre-tokenizer and decoder, the same
special tokens (`<|endoftext|>`, `<|im_start|>`, `<|im_end|>`) and Qwen2's chat template,
but a vocabulary of about 2,000 tokens learnt from a fixed English word list. Any text
encodes (unknown words fall back to byte pieces); every word of the list is one token,
which is what the simulator generates from.

Re-run with `python -m bench.sim.build_tokenizer` after editing the word list; a unit test
checks that the committed files are exactly what this script writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

OUT_DIR = Path(__file__).resolve().parent / "tokenizer"
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

# Qwen2-7B-Instruct's chat template (tokenizer_config.json of Qwen/Qwen2-7B-Instruct).
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# The corpus: common English words, the words of the article's latency prompt, and the
# vocabulary of this field. Word i is repeated (len - i) times so merge order is fixed by
# frequency rather than by ties.
_WORD_LIST = """
the of and to in is that it for was on are as with his they at be this from have or by
one had not but what all were when we there can an your which their said if do will each
about how up out them then she many some so these would other into has more her two like
him see time could no make than first been its who now people my made over did down only
way find use may water long little very after words called just where most know get
through back much go good new write our me man too any day same right look think also
around another came come work three word must because does part even place well such
here take why things help put years different away again off went old number great tell
men say small every found still between name should home big give air line set own under
read last never us left end along while might next sound below saw something thought both
few those always looks show large often together asked house don world going want school
important until form food keep children feet land side without boy once animals life
enough took sometimes four head above kind began almost live page got earth need far hand
high year mother light parts country father let night following picture being study second
eyes soon times story boys since white days ever paper hard near sentence better best
across during today others however sure means knew try told young miles sun ways thing
whole hear example heard several change answer room sea against top turned learn point
city play toward five using himself usually money seen car morning later river
model models token tokens prompt prompts server servers request requests response latency
throughput memory cache batch batches decode prefill queue stream streams benchmark
benchmarks measure measured result results kernel device accelerator compute bandwidth
npu ascend atlas huawei cann sglang vllm qwen instruct inference serving engine scheduler
please detailed summary history architecture da vinci from to of the write a
performance tensor matrix vector layer layers attention head heads weight weights value
values key keys second seconds millisecond milliseconds throughput report reports data
simulator simulated reported check checks test tests run runs
"""
WORDS = _WORD_LIST.split()

VOCAB_SIZE = 2048


def corpus() -> list[str]:
    """The training lines: each word with a leading space, repeated by its rank."""
    unique = list(dict.fromkeys(WORDS))  # keep first occurrence, in order
    lines = []
    for rank, word in enumerate(unique):
        lines.extend([f" {word}", word, f" {word.capitalize()}"] * (len(unique) - rank))
    lines.extend([" 0 1 2 3 4 5 6 7 8 9 10 100 1000", ". , ; : ! ? ( ) - ' \" / \n"] * 50)
    return lines


def build() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tokenizer.train_from_iterator(corpus(), trainer=trainer)
    # Special tokens after the learnt vocabulary, as Qwen2 places them.
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    return tokenizer


def tokenizer_config(tokenizer: Tokenizer) -> dict:
    added = {
        str(tokenizer.token_to_id(tok)): {
            "content": tok,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for tok in SPECIAL_TOKENS
    }
    return {
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 32768,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": None,
    }


def write(out_dir: Path = OUT_DIR) -> list[Path]:
    tokenizer = build()
    out_dir.mkdir(parents=True, exist_ok=True)
    tok_path = out_dir / "tokenizer.json"
    cfg_path = out_dir / "tokenizer_config.json"
    tok_path.write_text(tokenizer.to_str(pretty=True) + "\n", encoding="utf-8")
    cfg_text = json.dumps(tokenizer_config(tokenizer), indent=2, ensure_ascii=False)
    cfg_path.write_text(cfg_text + "\n", encoding="utf-8")
    return [tok_path, cfg_path]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR
    for path in write(target):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
