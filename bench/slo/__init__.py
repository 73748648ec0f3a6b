"""Service-level objectives: the SLO and its search (`[search]` in a study, `bench slo`).

spec.py the SLO and the search's settings (strict); verdict.py a run's and a probe's
verdict (scipy.stats' Wilson interval); search.py the search's decisions, a pure function
of the probe results so far; facts.py what a run's result document and records say about
the SLO; ranking.py configurations ranked by the most load under the SLO, with ties.
"""
