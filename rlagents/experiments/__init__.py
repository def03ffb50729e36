"""Experiments over many runs: a run per seed in parallel on Ray (``rlrun --seeds``), their
aggregate statistics, and tables comparing groups of runs (``rlrun compare``)."""
