"""The MLflow mirror's pieces that need no tracking store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from movierec.tracking.runs import split_dataset


@pytest.mark.filterwarnings("ignore:.*interpreted in multiple ways", "ignore:.*integer column")
@pytest.mark.parametrize("missing", [False, True])
def test_split_datasets_carry_the_schema_and_profile_mlflow_infers(tmp_path, missing):
    import mlflow

    frame = pd.DataFrame({"userId": np.arange(50), "movieId": np.arange(50) * 3,
                          "rating": np.linspace(0.5, 5.0, 50), "timestamp": np.arange(50) + 10**9})
    if missing:
        frame.loc[7, "rating"] = np.nan
    path = tmp_path / "train.parquet"
    frame.to_parquet(path)
    ours = split_dataset(frame, path, "variant-train", "abc123")
    theirs = mlflow.data.from_pandas(frame, source=str(path), name="variant-train",
                                     digest="abc123")
    assert ours.schema == theirs.schema
    assert ours.schema.inputs[2].required is not missing
    assert ours.to_dict() == theirs.to_dict()
    assert json.loads(ours.to_dict()["profile"])["num_rows"] == 50
