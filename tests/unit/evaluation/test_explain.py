"""The coefficient table the explain stage shows."""

from __future__ import annotations

import pandas as pd

from movierec.evaluation.explain import top_coefficients


def test_top_coefficients_lists_numeric_features_then_strongest_tokens():
    coefficients = pd.DataFrame({
        "feature": ["tag:a", "tag:b", "genre:c", "tag:d", "tag:e", "user_bias", "year"],
        "coefficient": [0.5, -2.0, 1.0, -0.1, 0.0, 0.2, -0.3]})
    top = top_coefficients(coefficients, 2)
    assert top["feature"].tolist() == ["year", "user_bias", "genre:c", "tag:a", "tag:b", "tag:d"]
    assert top["kind"].tolist() == ["numeric", "numeric", "token+", "token+", "token-", "token-"]
