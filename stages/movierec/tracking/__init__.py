"""The one MLflow helper and the pyfunc model it logs."""
