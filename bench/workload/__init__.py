"""Workloads: profiles (TOML), datasets (prompts of exact token length), schedules (send times)."""
