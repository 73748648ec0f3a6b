"""`SimConfig`: everything `bench sim` is started with (the CLI flags, as one record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import UsageError
from bench.sim import DEFAULT_PROFILE
from bench.sim.faults import FaultConfig
from bench.sim.launch import LaunchFlags
from bench.sim.profile import SimProfile

DEFAULT_SEED = 20240601  # fixed and recorded: the simulator never seeds from the clock


@dataclass(frozen=True)
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (read it from the ready file or SimServer.base_url)
    profile: str = DEFAULT_PROFILE  # a name in bench/sim/profiles/ or a path to a TOML file
    speed: float = 1.0  # every simulated duration is divided by this
    seed: int = DEFAULT_SEED
    tokenizer: Path | None = None  # None: the kit's shipped tokenizer
    tokens_per_chunk: int = 1  # tokens per streamed chunk (SGLang sends one)
    eos_rate: float = 0.0  # per-token chance of a natural stop when a request allows EOS
    disable_radix_cache: bool = False  # SGLang's --disable-radix-cache: no prefix cache
    ground_truth: Path | None = None
    log_file: Path | None = None
    ready_file: Path | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    npu_smi_dir: Path | None = None  # write a stand-in npu-smi for the simulated NPU here
    launch: LaunchFlags = field(default_factory=LaunchFlags)  # SGLang's launch flags

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port must be in 0..65535, got {self.port}")
        if not self.speed > 0 or self.speed > 1e6:
            raise UsageError(f"--speed must be > 0 and <= 1e6, got {self.speed}")
        if self.tokens_per_chunk < 1:
            raise UsageError(f"--tokens-per-chunk must be >= 1, got {self.tokens_per_chunk}")
        if not 0 <= self.eos_rate <= 1:
            raise UsageError(f"--eos-rate must be in [0, 1], got {self.eos_rate}")
        if self.host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
            raise UsageError(f"--host must be a local address, got {self.host}")

    def sim_profile(self) -> SimProfile:
        """The profile as launched: read, then SGLang's launch flags applied and checked."""
        from bench.sim.launch import configure
        from bench.sim.profile import load_profile

        return configure(load_profile(self.profile), self.launch)
