"""Result documents -> a Markdown report with PNG plots; filing submissions; comparing two.

- `build.build_report(results_dir, out)` renders the report in memory and
  `build.write_report(report, out)` writes it (plots in `<out stem>-plots/` beside it).
- `submit.submit(path, results_dir)` validates one document and files it by convention.
- `compare.compare(a, b)` puts two documents side by side.

Modules: `results` (load + validate), `rows` (pure: runs, settings, ranking, baseline
matching), `text` (escaping untrusted text, number formats), `tables` (tabulate),
`plots` (matplotlib Agg), `compose` (the Markdown), `glossary` (metric definitions).
"""
