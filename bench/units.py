"""Unit constants, defined once. Memory is in binary units: SGLang's and npu-smi's "GB"
and "MB" are GiB and MiB (bytes / 2**30, bytes / 2**20)."""

from __future__ import annotations

MIB = 1 << 20
GIB = 1 << 30
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
