"""Metrics, the rating and ranking evaluations, the new-user simulation, plots."""
