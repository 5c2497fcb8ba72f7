"""The BLAS pin: one OpenBLAS kernel wherever the CPU runs it, loaded before numpy by every stage."""

from __future__ import annotations

import ast
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from movierec.blas import KERNEL, cpu_flags, pinned_kernel

import pytest

STAGES = Path(__file__).resolve().parents[2] / "stages"


def test_pins_haswell_only_on_x86_64_with_avx2_and_fma():
    assert pinned_kernel("x86_64", {"sse2", "avx2", "fma", "avx512f"}) == KERNEL
    assert pinned_kernel("AMD64", {"avx2", "fma"}) == KERNEL
    assert pinned_kernel("x86_64", {"sse2", "avx"}) is None  # its kernels would not run
    assert pinned_kernel("aarch64", {"avx2", "fma"}) is None


def test_cpu_flags_reads_the_first_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n\nflags\t\t: other\n")
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "fma"}
    assert cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize("script", sorted(STAGES.glob("*.py")), ids=lambda path: path.name)
def test_every_stage_imports_the_pin_before_any_other_library(script):
    imports = [node for node in ast.parse(script.read_text()).body
               if isinstance(node, ast.Import | ast.ImportFrom)]
    names = [node.names[0].name if isinstance(node, ast.Import) else node.module
             for node in imports]
    third_party = [k for k, name in enumerate(names)
                   if name.split(".")[0] not in sys.stdlib_module_names | {"__future__"}]
    assert third_party and names[third_party[0]] == "movierec.blas", (
        f"{script.name}: import movierec.blas before {names[third_party[0]]}")


@pytest.mark.skipif(pinned_kernel(platform.machine(), cpu_flags()) is None,
                    reason="this CPU keeps OpenBLAS's own kernel")
def test_numpy_and_scipy_load_the_pinned_kernel_whatever_the_environment_asks():
    code = ("import movierec.blas, json, numpy, scipy.linalg\n"
            "from threadpoolctl import threadpool_info\n"
            "print(json.dumps([i.get('architecture') for i in threadpool_info()"
            " if i['internal_api'] == 'openblas']))")
    env = os.environ | {"OPENBLAS_CORETYPE": "Sandybridge", "PYTHONPATH": str(STAGES)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            check=True)
    architectures = json.loads(result.stdout)
    assert len(architectures) >= 1 and set(architectures) == {KERNEL}
