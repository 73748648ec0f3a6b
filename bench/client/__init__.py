"""The only code that talks to a server: stream parsing, the load generator, the latency probe.

`sse` parses every OpenAI-compatible stream shape (pure); `api` builds request bodies;
`stream` sends one request with aiohttp and turns it into a `bench.records.Record`;
`loadgen` runs a workload (`bench throughput`) of the jobs `jobs` builds (requests, or
conversations that `conversation` replays turn by turn), each process's sending in
`sending`; with `--workers N`, `workers` runs N `worker` processes on one schedule, their
shares of jobs and cap from `shares`; `latency` is the OpenAI-SDK probe
(`bench latency`); `sanity` asks the sanity questions (`bench sanity`); `runinfo` assembles
the schema's `run` object.
"""
