"""Every tolerance and physical bound the validator uses, in one place, with its reason.

docs/results.md (its `result` section) documents the same numbers; a test checks they agree.
"""

from __future__ import annotations

# Quantities that are plain arithmetic of other recorded quantities (throughput = tokens /
# duration, total = input + output, rps = completed / duration). 2% is the figure;
# an absolute slack covers documents rounded to 2 decimals.
ARITHMETIC_REL = 0.02
ARITHMETIC_ABS = 0.05

# TTFT + TPOT x (N_out - 1) vs E2E uses means of per-request values: exact when every
# request has the same N_out, otherwise off by the covariance of TPOT and N_out.
DECOMPOSITION_REL = 0.10

# Little's law, achieved concurrency = request throughput x mean E2E: exact when both sums
# run over the same completed requests; failures and rounding move it a little.
LITTLE_REL = 0.05

# Requested vs achieved arrival rate: a Poisson schedule of n requests spans a time whose
# relative standard deviation is 1/sqrt(n), so allow 5% + 3/sqrt(n).
RATE_REL = 0.05
RATE_SIGMAS = 3.0

# Mean prompt length vs the workload's fixed input_len: a chat template adds tokens.
CHAT_TEMPLATE_TOKENS = 64

# Memory figures from logs are rounded to 0.01 GiB.
MEMORY_ABS_GIB = 0.05
MEMORY_REL = 0.005
KV_REL = 0.02
# The log's "mem usage" after loading weights includes the runtime's own allocations, so
# it may exceed parameters x dtype bytes by up to 10%, but not fall short by more than 3%.
WEIGHTS_OVER_REL = 0.10
WEIGHTS_UNDER_REL = 0.03

# Physical bounds. Each output token of a decoder needs at least 2 x (active) parameters
# FLOPs, whatever the batching or speculative decoding, so
#     output tok/s per accelerator <= PEAK_FLOPS_CEILING / (2 x parameters).
# 1e16 FLOP/s (10 PFLOP/s) is above the dense peak of any single accelerator at any
# precision as of 2025 (Ascend 910B ~0.3-0.4 PFLOP/s BF16; B200 ~9 PFLOP/s dense FP4).
PEAK_FLOPS_CEILING = 1e16
# When the model's parameter count is not recorded: the smallest plausible served LLM.
MIN_PLAUSIBLE_PARAMETERS = 1e8
# One decode step of one sequence reads every weight once, so
#     TPOT >= weight bytes per accelerator / (HBM_BANDWIDTH_CEILING x SPECULATIVE_TOKENS).
# 8 TB/s is above any accelerator's HBM (910B ~1.6 TB/s, H100 3.35, B200 8); up to 8
# tokens per step covers speculative decoding.
HBM_BANDWIDTH_CEILING_B_S = 8e12
SPECULATIVE_TOKENS_CEILING = 8

DTYPE_BYTES: dict[str, float] = {
    "float32": 4, "fp32": 4,
    "bfloat16": 2, "bf16": 2, "float16": 2, "fp16": 2, "half": 2,
    "int8": 1, "w8a8": 1, "fp8": 1, "float8": 1, "float8_e4m3fn": 1,
    "int4": 0.5, "w4a16": 0.5, "awq": 0.5, "gptq": 0.5,
}  # fmt: skip
