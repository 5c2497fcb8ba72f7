"""The rating model as an MLflow pyfunc model: ``mlflow.pyfunc.load_model(uri).predict(frame)``.

Logged as "models from code": MLflow stores this file and runs it on load (no pickled object).
"""

from __future__ import annotations

import joblib
import mlflow.pyfunc
import pandas as pd
from mlflow.models import set_model


class RatingPyfunc(mlflow.pyfunc.PythonModel):
    """Predicts ``rating`` for a frame with ``userId`` and ``movieId`` columns."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.model = joblib.load(context.artifacts["model"])

    def predict(self, context: mlflow.pyfunc.PythonModelContext, model_input: pd.DataFrame,
                params: dict | None = None) -> pd.Series:
        predicted = self.model.predict(model_input["userId"].to_numpy(),
                                       model_input["movieId"].to_numpy())
        return pd.Series(predicted, name="rating")


set_model(RatingPyfunc())
