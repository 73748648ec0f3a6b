"""Result documents -> a Markdown report with PNG plots; filing submissions; comparing two.

- `build.build_report(results_dir, out)` renders the report in memory and
  `build.write_report(report, out)` writes it (plots in `<out stem>-plots/` beside it).
- `submit.plan(path, results_dir)` validates one document and names its destination;
  `submit.refuse_reason(...)` says why it cannot be filed; `submit.file_submission(...)`
  files it without ever replacing a file.
- `compare.compare_files(a, b)` puts two documents side by side (Markdown);
  `compare_sets.compare_named(a, b)` also takes directories of repeats and study cells
  and says whether each difference is real (`significance`).

Modules: `results` (load + validate), `rows` (pure: runs, settings, ranking, baseline
matching), `text` (escaping untrusted text, number formats), `tables` (tabulate),
`plots` (matplotlib Agg), `compose` (the Markdown), `details` (provenance per result),
`glossary` (metric definitions), `build` (render, write, check).
"""
