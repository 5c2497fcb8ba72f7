"""dvc.yaml cannot go stale: each stage depends on everything its script imports or reads."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from support import ROOT

STAGES = ROOT / "stages"
PACKAGE = STAGES / "movierec"
DATA_FILES = {  # files a module reads or ships beside itself (Path(__file__)...)
    "features/tokens.py": ["features/stop_words.txt"],
    "tracking/runs.py": ["tracking/pyfunc_model.py"],
}


def module_file(name: str) -> Path | None:
    """The file of module ``movierec.a.b`` (a module or a package's ``__init__``), if it exists."""
    path = STAGES.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """The ``movierec`` modules a file imports, anywhere in it (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name.split(".")[0] == "movierec" and module_file(name)}
    return found


def import_closure(script: Path) -> set[Path]:
    """Every file ``script`` needs: the modules it imports, theirs, their packages' ``__init__``
    files, and the data files they read."""
    needed, pending = {script}, [script]
    while pending:
        for name in imported_modules(pending.pop()):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                path = module_file(".".join(parts[:depth]))
                if path not in needed:
                    needed.add(path)
                    pending.append(path)
    for path in list(needed):
        relative = path.relative_to(PACKAGE).as_posix() if PACKAGE in path.parents else ""
        needed |= {PACKAGE / extra for extra in DATA_FILES.get(relative, [])}
    return needed


def stage_scripts() -> dict[str, tuple[Path, list[Path]]]:
    """Each stage of dvc.yaml: its script and its deps, as paths."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    found = {}
    for name, stage in stages.items():
        script = re.search(r"python (stages/\S+\.py)", stage["cmd"]).group(1)
        found[name] = (ROOT / script, [ROOT / dep for dep in stage.get("deps", [])])
    return found


@pytest.mark.parametrize("stage", sorted(stage_scripts()))
def test_every_stage_depends_on_all_the_code_it_runs(stage):
    script, deps = stage_scripts()[stage]
    missing = sorted(path.relative_to(ROOT).as_posix() for path in import_closure(script)
                     if not any(path == dep or dep in path.parents for dep in deps))
    assert not missing, f"stage {stage}: add to its deps in dvc.yaml: {', '.join(missing)}"


def test_the_import_closure_follows_imports_of_imports():
    closure = {path.relative_to(STAGES).as_posix() for path in import_closure(STAGES / "train.py")}
    assert {"train.py", "movierec/__init__.py", "movierec/model/__init__.py",
            "movierec/model/estimator.py", "movierec/model/evidence.py", "movierec/sparse.py",
            "movierec/errors.py", "movierec/features/stop_words.txt"} <= closure
    assert "movierec/recommend/session.py" not in closure


@pytest.mark.parametrize("stage", sorted(stage_scripts()))
def test_stage_scripts_stay_thin(stage):
    """A stage script parses arguments, calls the package and writes outputs: well under 100 lines."""
    script, _ = stage_scripts()[stage]
    assert len(script.read_text().splitlines()) < 100, f"{script.name}: move logic into movierec/"


def rank_keys(module: str) -> set[str]:
    """The ``rank.*`` params that ``ranking/<module>.py`` reads."""
    from dataclasses import fields

    from movierec.params import RankParams

    names = {field.name for field in fields(RankParams)}
    tree = ast.parse((PACKAGE / "ranking" / f"{module}.py").read_text(encoding="utf-8"))
    return {f"rank.{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in names}


def ranker_keys() -> set[str]:
    """The ``rank.*`` params the ranking reads when it makes a list (``ranking/lists.py``)."""
    return rank_keys("lists")


def test_the_ranker_keys_are_found():
    assert {"rank.relevant_rating", "rank.large_profile", "rank.candidates",
            "rank.calibration_weight", "rank.rerank_weight"} <= ranker_keys()


@pytest.mark.parametrize("stage", sorted(stage_scripts()))
def test_every_stage_that_ranks_names_the_rank_params_it_reads(stage):
    """A sweep of any rank weight reruns every stage that makes lists with it."""
    script, _ = stage_scripts()[stage]
    if PACKAGE / "ranking" / "lists.py" not in import_closure(script):
        return
    declared = declared_params(stage)
    missing = sorted(key for key in ranker_keys() if key not in declared and "rank" not in declared)
    assert not missing, f"stage {stage}: add to its params in dvc.yaml: {', '.join(missing)}"


def declared_params(stage: str) -> set[str]:
    declared = set()
    for entry in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage].get("params", []):
        declared |= set(entry) if isinstance(entry, dict) else {entry}
    return declared


def test_the_item_model_keys_are_found():
    assert {"rank.rated_penalty", "rank.liked_plain_penalty", "rank.walk_exponent",
            "rank.item_movies"} <= rank_keys("item_model")


@pytest.mark.parametrize("stage", sorted(stage_scripts()))
def test_every_stage_that_fits_the_ranking_names_the_rank_params_the_fit_reads(stage):
    """A sweep of any item-model param refits the ranking model in every stage that fits one."""
    script, _ = stage_scripts()[stage]
    fits = any("fit_rank_model(" in path.read_text(encoding="utf-8")
               for path in import_closure(script)
               if path.suffix == ".py" and path.parent != PACKAGE / "ranking")
    if not fits:
        return
    declared = declared_params(stage)
    missing = sorted(key for key in rank_keys("item_model")
                     if key not in declared and "rank" not in declared)
    assert not missing, f"stage {stage}: add to its params in dvc.yaml: {', '.join(missing)}"
