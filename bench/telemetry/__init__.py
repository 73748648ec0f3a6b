"""Telemetry during every run: the NPUs (npu-smi) and the server's own counters (/metrics).

Samplers share one small interface (`sampler.PeriodicSampler`: start before the measured
window, stop after it, a timeline back) and run off the load generator's event loop. A
sampler that fails records why and never fails the measurement. What is computed from the
timelines (energy, statistics, the server's deltas) is pure (`energy`, `sections`); the
validator's cross-checks are in `bench.validate.checks_telemetry`.

    npu_smi_fields, npu   npu-smi's outputs -> one reading per NPU per sample
    prometheus, engines   /metrics -> each engine's names mapped onto one set
    sampler               the periodic thread and its timeline
    session, attach       one run's samplers, their timelines, the document's sections
    energy, sections      pure functions of timelines
    limits                the power ratings the validator holds readings to
"""
