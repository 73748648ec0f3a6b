"""What the load generator sends for a workload: warm-up requests and measured jobs.

A job is one item of the send schedule: a single request (random, ShareGPT and
shared-prefix prompts), or a conversation whose turns follow each other, each sent when the
one before has finished (multi-turn). Warm-up requests are random prompts of a seed of
their own, so they share no prefix with a measured prompt. Also here: the schema's
`workload` object and the default run name of each dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.client.api import endpoint_url, request_body, request_id
from bench.client.conversation import Replay
from bench.client.runinfo import workload_object
from bench.client.stream import RequestSpec
from bench.client.target import Target
from bench.jsonio import sha256_file
from bench.workload.conversations import sharegpt_conversations, synthetic_conversations
from bench.workload.dataset import Prompt, Tokenizer, random_prompts, sharegpt_prompts
from bench.workload.shared_prefix import shared_prefix_prompts
from bench.workload.spec import GSP, MULTI_TURN, RANDOM_OUTPUT_LEN, ThroughputWorkload

WARMUP_SEED_OFFSET = 1_000_003  # warm-up prompts never repeat a measured prompt's prefix


@dataclass(frozen=True)
class Job:
    """A request, and for a conversation the replay that builds each next turn."""

    first: RequestSpec
    replay: Replay | None = None


def build_prompts(workload: ThroughputWorkload, tokenizer: Tokenizer) -> list[Prompt]:
    """The measured prompts of a single-request dataset, from seeded generators."""
    if workload.dataset == "sharegpt":
        return sharegpt_prompts(
            tokenizer,
            workload.dataset_path or "",
            num_prompts=workload.num_prompts,
            output_len=workload.output_len,
            seed=workload.seed,
        )
    if workload.dataset == GSP:
        return shared_prefix_prompts(
            tokenizer,
            num_groups=workload.gsp_num_groups,
            prompts_per_group=workload.gsp_prompts_per_group,
            system_prompt_len=workload.gsp_system_prompt_len,
            question_len=workload.gsp_question_len,
            output_len=workload.gsp_output_len,
            range_ratio=workload.range_ratio,
            seed=workload.seed,
        )
    return random_prompts(
        tokenizer,
        num_prompts=workload.num_prompts,
        input_len=workload.input_len,
        output_len=workload.output_len or RANDOM_OUTPUT_LEN,
        range_ratio=workload.range_ratio,
        seed=workload.seed,
    )


def warmup_prompts(workload: ThroughputWorkload, tokenizer: Tokenizer) -> list[Prompt]:
    if not workload.warmup:
        return []
    return random_prompts(
        tokenizer,
        num_prompts=workload.warmup,
        input_len=workload.input_len,
        output_len=workload.output_len or RANDOM_OUTPUT_LEN,
        range_ratio=1.0,
        seed=workload.seed + WARMUP_SEED_OFFSET,
    )


def request_specs(
    workload: ThroughputWorkload, target: Target, prompts: list[Prompt], *, warmup: bool
) -> list[RequestSpec]:
    url = endpoint_url(target.base_url, workload.api)
    specs = []
    for i, p in enumerate(prompts):
        body = request_body(
            workload.api, target.model, p.text, p.output_tokens, ignore_eos=workload.ignore_eos
        )
        specs.append(
            RequestSpec(
                index=i,
                rid=request_id(),
                url=url,
                body=body,
                payload=json.dumps(body).encode(),
                warmup=warmup,
                # the client knows the prompt's exact count only without a chat template
                prompt_tokens_client=p.prompt_tokens if workload.api == "completions" else None,
                requested_output_tokens=p.output_tokens,
                group=p.group,
            )
        )
    return specs


def measured_jobs(workload: ThroughputWorkload, target: Target, tokenizer: Tokenizer) -> list[Job]:
    """The measured jobs in schedule order."""
    if workload.dataset != MULTI_TURN:
        prompts = build_prompts(workload, tokenizer)
        return [Job(s) for s in request_specs(workload, target, prompts, warmup=False)]
    if workload.dataset_path:
        conversations = sharegpt_conversations(
            tokenizer,
            workload.dataset_path,
            num_conversations=workload.mt_num_conversations,
            num_turns=workload.mt_num_turns,
            output_len=workload.output_len,
            seed=workload.seed,
        )
    else:
        conversations = synthetic_conversations(
            tokenizer,
            num_conversations=workload.mt_num_conversations,
            num_turns=workload.mt_num_turns,
            user_len=workload.mt_user_len,
            output_len=workload.output_len,
            range_ratio=workload.range_ratio,
            seed=workload.seed,
        )
    url = endpoint_url(target.base_url, workload.api)
    replays = [
        Replay(c, workload.api, target.model, url, workload.ignore_eos, tokenizer.count)
        for c in conversations
    ]
    return [Job(r.first(), r) for r in replays]


def workload_of(workload: ThroughputWorkload, tokenizer_path: Path) -> dict[str, Any]:
    """The schema's `workload` of a run of the kit's load generator."""
    reads_file = workload.dataset in ("sharegpt", MULTI_TURN) and workload.dataset_path
    path = Path(workload.dataset_path) if reads_file else None
    own_lengths = workload.dataset == "random"
    extra = {}
    if workload.dataset == GSP:
        extra = {k: getattr(workload, k) for k in _GSP_KEYS}
    elif workload.dataset == MULTI_TURN:
        extra = {k: getattr(workload, k) for k in _MT_KEYS}
    return workload_object(
        dataset=workload.dataset,
        dataset_path=str(path) if path else None,
        dataset_sha256=sha256_file(path) if path else None,
        input_len=workload.input_len if own_lengths else None,
        output_len=workload.output_len,
        range_ratio=None if workload.dataset == "sharegpt" else workload.range_ratio,
        num_prompts=workload.num_prompts,
        max_concurrency=workload.max_concurrency,
        request_rate_rps=workload.request_rate_rps,
        burstiness=workload.burstiness,
        warmup_requests=workload.warmup,
        seed=workload.seed,
        api=workload.api,
        ignore_eos=workload.ignore_eos,
        stream=True,
        timeout_s=workload.timeout_s,
        tokenizer=str(tokenizer_path),
        prompt_description=_description(workload),
        **extra,
    )


_GSP_KEYS = (
    "gsp_num_groups",
    "gsp_prompts_per_group",
    "gsp_system_prompt_len",
    "gsp_question_len",
    "gsp_output_len",
)
_MT_KEYS = ("mt_num_conversations", "mt_num_turns", "mt_user_len")


def _description(workload: ThroughputWorkload) -> str | None:
    w = workload
    if w.dataset == GSP:
        return (
            f"{w.gsp_num_groups} groups x {w.gsp_prompts_per_group} prompts, each a system "
            f'prompt of {w.gsp_system_prompt_len} tokens shared by its group + "\\n\\n" + a '
            f"question of {w.gsp_question_len} tokens (exact whole-word texts; shuffled across "
            "groups)"
        )
    if w.dataset == MULTI_TURN:
        source = (
            "user turns from the dataset file"
            if w.dataset_path
            else f"synthetic user turns of {w.mt_user_len} tokens"
        )
        return (
            f"{w.mt_num_conversations} conversations x {w.mt_num_turns} turns, {source}; each "
            "turn sent when the previous one finished, carrying the history with the server's "
            "own replies"
        )
    return None


def default_name(workload: ThroughputWorkload) -> str:
    w = workload
    if w.dataset == GSP:
        return (
            f"throughput-gsp-{w.gsp_num_groups}x{w.gsp_prompts_per_group}-"
            f"{w.gsp_system_prompt_len}+{w.gsp_question_len}-{w.gsp_output_len}"
        )
    if w.dataset == MULTI_TURN:
        return f"throughput-multi-turn-{w.mt_num_conversations}x{w.mt_num_turns}-{w.output_len}"
    return f"throughput-{w.dataset}-{w.input_len}-{w.output_len}"
