"""Studies: server configurations x workloads x load levels x repeats.

`spec` reads the study file, `plan` makes its cells and their identities, `commands` and
`launchers` start and stop servers (`process`, `hbm`, `flush` help them), `cell` runs one
repeat into a result document, `engine` runs the study and keeps its ledger, `stats` and
`pareto` are the pure statistics, `document` builds study.json and summary.csv,
`validate` checks a study document, `report` and `plots` render it, `session` opens a
study directory (new or resumed).
"""
