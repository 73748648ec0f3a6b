"""What a model's architecture implies for memory: weight bytes and KV bytes per token.

From the Hugging Face `config.json` (and `model.safetensors.index.json` when present):
- KV bytes per token = 2 (K and V) x layers x kv_heads x head_dim x dtype bytes.
  Under tensor parallelism each rank holds max(1, kv_heads // tp) heads (SGLang replicates
  KV heads when tp > kv_heads), so the per-rank figure uses that count.
- Weight bytes = the safetensors index's `total_size` when present (exact, as published),
  else parameters x dtype bytes, with parameters counted from the config for dense
  decoder-only transformers (Llama/Qwen2/Mistral shape). Per rank: / tp (embeddings and
  linear layers are sharded; norms are replicated but are a few MiB).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench.errors import InputError
from bench.units import GIB

MAX_CONFIG_BYTES = 8 * 1024 * 1024

DTYPE_BYTES = {
    "float32": 4,
    "fp32": 4,
    "float": 4,
    "bfloat16": 2,
    "bf16": 2,
    "float16": 2,
    "fp16": 2,
    "half": 2,
    "int8": 1,
    "fp8": 1,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
}
# Families whose q/k/v projections carry a bias (config key `attention_bias` overrides).
_QKV_BIAS_DEFAULT = {"qwen2": True}


@dataclass(frozen=True)
class ModelArch:
    model_type: str | None
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int | None
    vocab_size: int | None
    tie_word_embeddings: bool
    dtype: str | None
    dtype_bytes: int
    max_position_embeddings: int | None
    params: int | None  # counted from the config; None when the shape is not dense decoder-only
    weight_bytes_published: int | None  # safetensors index total_size

    @property
    def kv_bytes_per_token(self) -> int:
        """2 x layers x kv_heads x head_dim x dtype bytes (whole model, one rank)."""
        return 2 * self.num_layers * self.num_kv_heads * self.head_dim * self.dtype_bytes

    def kv_bytes_per_token_per_rank(self, tp: int = 1, kv_dtype_bytes: int | None = None) -> int:
        """Per rank; `kv_dtype_bytes` when the KV cache has its own dtype (fp8 KV: 1)."""
        heads = max(1, self.num_kv_heads // max(1, tp))
        size = kv_dtype_bytes or self.dtype_bytes
        return 2 * self.num_layers * heads * self.head_dim * size

    @property
    def weight_bytes(self) -> int | None:
        """Published total_size, else params x dtype bytes."""
        if self.weight_bytes_published is not None:
            return self.weight_bytes_published
        return self.params * self.dtype_bytes if self.params is not None else None

    @property
    def weight_source(self) -> str | None:
        if self.weight_bytes_published is not None:
            return "safetensors index total_size"
        return "parameters x dtype bytes" if self.params is not None else None

    @property
    def parameter_count(self) -> int | None:
        """Counted params, else published bytes / dtype bytes."""
        if self.params is not None:
            return self.params
        if self.weight_bytes_published is not None:
            return self.weight_bytes_published // self.dtype_bytes
        return None

    def expected_weights_gib(self, tp: int = 1) -> float | None:
        wb = self.weight_bytes
        return wb / max(1, tp) / GIB if wb is not None else None


def _int(cfg: dict, *keys: str) -> int | None:
    for key in keys:
        v = cfg.get(key)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return None


def _dense_params(cfg: dict, layers: int, hidden: int, heads: int, kv: int, hd: int) -> int | None:
    inter, vocab = _int(cfg, "intermediate_size"), _int(cfg, "vocab_size")
    moe_keys = ("num_experts", "num_local_experts", "n_routed_experts", "moe_intermediate_size")
    if inter is None or vocab is None or any(k in cfg for k in moe_keys):
        return None
    q, kvd = heads * hd, kv * hd
    bias = cfg.get("attention_bias", _QKV_BIAS_DEFAULT.get(cfg.get("model_type", ""), False))
    attn = hidden * q + 2 * hidden * kvd + q * hidden + ((q + 2 * kvd) if bias else 0)
    mlp = 3 * hidden * inter  # gate, up, down
    norms = 2 * hidden
    embed = vocab * hidden
    lm_head = 0 if cfg.get("tie_word_embeddings", False) else vocab * hidden
    return embed + lm_head + layers * (attn + mlp + norms) + hidden


def model_arch(config_json: dict, index_json: dict | None = None) -> ModelArch:
    """The architecture facts of a Hugging Face config (and safetensors index)."""
    if not isinstance(config_json, dict):
        raise InputError("model config is not a JSON object")
    cfg = config_json
    if "num_hidden_layers" not in cfg and isinstance(cfg.get("text_config"), dict):
        cfg = {**cfg["text_config"], **{k: v for k, v in cfg.items() if k == "torch_dtype"}}
    layers = _int(cfg, "num_hidden_layers", "n_layer", "num_layers")
    hidden = _int(cfg, "hidden_size", "n_embd", "d_model")
    heads = _int(cfg, "num_attention_heads", "n_head")
    if layers is None or hidden is None or heads is None:
        raise InputError("model config lacks num_hidden_layers, hidden_size or num_attention_heads")
    kv = _int(cfg, "num_key_value_heads", "num_kv_heads") or heads
    hd = _int(cfg, "head_dim") or hidden // heads
    dtype = cfg.get("torch_dtype") or cfg.get("dtype")
    dtype = str(dtype).removeprefix("torch.") if dtype else None
    if dtype is not None and dtype not in DTYPE_BYTES:
        raise InputError(f"model config dtype {dtype!r} is not one the kit knows the size of")
    total = None
    if index_json is not None:
        size = (index_json.get("metadata") or {}).get("total_size")
        if isinstance(size, int | float) and size > 0:
            total = int(size)
    return ModelArch(
        model_type=cfg.get("model_type"),
        num_layers=layers,
        hidden_size=hidden,
        num_attention_heads=heads,
        num_kv_heads=kv,
        head_dim=hd,
        intermediate_size=_int(cfg, "intermediate_size"),
        vocab_size=_int(cfg, "vocab_size"),
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        dtype=dtype,
        dtype_bytes=DTYPE_BYTES.get(dtype or "bfloat16", 2),
        max_position_embeddings=_int(cfg, "max_position_embeddings"),
        params=_dense_params(cfg, layers, hidden, heads, kv, hd),
        weight_bytes_published=total,
    )


def _load_json(path: Path) -> dict:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise InputError(f"{path}: larger than {MAX_CONFIG_BYTES // 2**20} MiB")
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object")
    return data


def load_model_arch(model_dir: str | Path | None = None, model_config: str | Path | None = None):
    """ModelArch from a model directory (config.json + optional index) or a config file."""
    if model_dir is not None:
        d = Path(model_dir)
        config_path = d / "config.json"
        index_path = d / "model.safetensors.index.json"
    elif model_config is not None:
        config_path = Path(model_config)
        index_path = config_path.with_name("model.safetensors.index.json")
    else:
        raise InputError("give a model directory or a config.json")
    index = _load_json(index_path) if index_path.is_file() else None
    return model_arch(_load_json(config_path), index), str(config_path)
