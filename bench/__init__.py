"""Reproducibility kit for LLM serving benchmarks on Huawei Ascend NPUs.

Data flows one way through the package:

    workload (profile TOML) -> client (requests) -> records (JSONL)
        -> metrics (pure) -> result (JSON document) -> validate -> report (Markdown + PNG)

`sim/` is the simulated server; `memory/`, `envinfo` and `roofline` describe the hardware;
`cli/` is the thin command-line layer over all of it.
"""

__version__ = "0.1.0"
