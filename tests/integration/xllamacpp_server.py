"""Serve a GGUF model with llama.cpp's own HTTP server through xllamacpp, on 127.0.0.1.

    python tests/integration/xllamacpp_server.py MODEL.gguf [PORT [PARALLEL]]

xllamacpp ships llama.cpp (server included) as a prebuilt CPU wheel on PyPI, so a real
engine installs in seconds. It has no command line of its own: this script is one. It
prints `listening http://127.0.0.1:PORT` (PORT 0, the default, lets the system choose) and
serves until SIGTERM or SIGINT. The model is served as `tiny`, with PARALLEL request slots
(default 2: llama.cpp's `--parallel`), one CPU thread, no warm-up, with its Prometheus
`/metrics` on (the server's `--metrics`), which `bench run` scrapes.
"""

from __future__ import annotations

import signal
import sys

import xllamacpp

N_CTX = 4096
N_PARALLEL = 2


def main(argv: list[str]) -> int:
    params = xllamacpp.CommonParams()
    params.model.path = argv[0]
    params.model_alias = {"tiny"}  # a set: a plain string would become one alias per letter
    params.n_ctx = N_CTX
    params.n_parallel = int(argv[2]) if len(argv) > 2 else N_PARALLEL
    params.hostnames = ["127.0.0.1"]
    params.port = int(argv[1]) if len(argv) > 1 else 0
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.warmup = False
    params.endpoint_metrics = True  # llama-server --metrics
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    server = xllamacpp.Server(params)
    print("listening", server.listening_address, flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
