"""Workloads: profiles (TOML), datasets (prompts of exact token length: random, ShareGPT,
shared-prefix groups, conversations), schedules (send times)."""
