"""params.yaml validation: typos, wrong types and out-of-range values name the key, value and rule."""

from __future__ import annotations

import pytest
import yaml

from movierec.errors import UserInputError
from movierec.params import Params, read_params
from support import ROOT, write_params


def test_project_params_are_valid_and_the_schemas_defaults():
    """params.yaml is the schema's defaults: adopt a new default in both (movierec/params.py)."""
    assert read_params(ROOT / "params.yaml") == Params()


@pytest.mark.parametrize(("override", "message"), [
    ({"train__alhpa": 3}, "unknown param train.alhpa = 3; known keys in 'train': alpha"),
    ({"train__alpha": -1.0}, "train.alpha = -1.0 is invalid; allowed: a number in (0, inf)"),
    ({"train__alpha": "big"}, "train.alpha = 'big' is invalid"),
    ({"split__test_size": 1.0}, "split.test_size = 1.0 is invalid; allowed: a number in (0, 1)"),
    ({"split__test_size": 0}, "split.test_size = 0 is invalid"),
    ({"split__strategy": "by_user"}, "allowed: one of 'random', 'temporal'"),
    ({"features__max_features": 0}, "features.max_features = 0 is invalid; allowed: an integer >= 1"),
    ({"features__max_features": 2.5}, "features.max_features = 2.5 is invalid"),
    ({"train__max_samples": 0}, "train.max_samples = 0 is invalid; allowed: an integer >= 1 (or -1)"),
    ({"train__folds": True}, "train.folds = True is invalid"),
    ({"trian__alpha": 1.0}, "unknown section 'trian'"),
    ({"train__co_rating_exponent": 0.7},
     "unknown param train.co_rating_exponent = 0.7; it is now similar.exponent"),
    ({"similar__exponent": 1.5}, "similar.exponent = 1.5 is invalid; allowed: a number in [0, 1]"),
    ({"newuser__profile_shares": [0.5, 1]},
     "newuser.profile_shares = [0.5, 1] is invalid; allowed: a list of numbers in (0, 1)"),
])
def test_invalid_params(tmp_path, override, message):
    with pytest.raises(UserInputError) as error:
        read_params(write_params(tmp_path / "params.yaml", **override))
    assert message in str(error.value)


def test_missing_key_is_named(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    del params["train"]["alpha"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(UserInputError, match=r"section .train. lacks train\.alpha"):
        read_params(tmp_path / "params.yaml")


def test_not_yaml(tmp_path):
    (tmp_path / "params.yaml").write_text("train: [alpha\n")
    with pytest.raises(UserInputError, match="not valid YAML"):
        read_params(tmp_path / "params.yaml")
