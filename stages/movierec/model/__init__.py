"""The rating model: evidence features, the sufficient-statistics Ridge, the estimator, baselines."""
