"""movierec: the library behind the DVC stages in ``stages/`` (README, Code map)."""
