"""Every harness program is compiled with the harness's compiler options (harness/training/compiler.py); what they
save is measured by benchmarks/test_compile_cache.py."""

import ast

import jax
import pytest

from harness import REPOSITORY
from harness.training import compiler


def test_every_program_of_the_harness_is_compiled_through_compiler_jit():
    plain = [f"{path.relative_to(REPOSITORY)}:{node.lineno}"
             for path in sorted((REPOSITORY / "harness").rglob("*.py")) if path.name != "compiler.py"
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Attribute) and node.attr == "jit" and isinstance(node.value, ast.Name)
             and node.value.id == "jax"]
    assert not plain, f"jax.jit used directly at {plain}: compile with harness.training.compiler.jit instead"


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the options are the CPU's")
def test_on_a_cpu_programs_compile_with_the_cpus_options(monkeypatch):
    assert compiler.CPU_OPTIONS and compiler.options(runs_long=True) == compiler.CPU_OPTIONS
    assert compiler.options() == compiler.CPU_OPTIONS | compiler.CPU_RUN_ONCE_OPTIONS != compiler.CPU_OPTIONS
    for runs_long in (True, False):
        assert compiler.jit(lambda x: 2 * x, runs_long=runs_long).lower(3.0).compile()(3.0) == 6.0
    # The options reach XLA, which refuses one it does not know, naming it.
    for table in ("CPU_OPTIONS", "CPU_RUN_ONCE_OPTIONS"):
        with monkeypatch.context() as patch:
            patch.setattr(compiler, table, {"xla_no_such_option": 1})
            with pytest.raises(Exception, match="xla_no_such_option"):
                compiler.jit(lambda x: 2 * x).lower(3.0).compile()
    monkeypatch.setattr(compiler, "CPU_OPTIONS", {})
    monkeypatch.setattr(compiler, "CPU_RUN_ONCE_OPTIONS", {})
    assert compiler.options() is None


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the options are the CPU's")
def test_an_option_that_xla_flags_sets_is_left_to_it(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=SSE4_2 --xla_backend_optimization_level=0 "
                                    "--xla_cpu_use_fusion_emitters=true")
    assert compiler.options() is None
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=SSE4_2")
    assert compiler.options() == compiler.CPU_OPTIONS | compiler.CPU_RUN_ONCE_OPTIONS


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the processor is named on a CPU")
def test_cpus_of_other_vector_widths_are_other_numeric_paths(monkeypatch):
    def cpu(flags: str, model: str = "AMD EPYC"):
        monkeypatch.setattr(compiler, "_cpuinfo", {"model name": model, "flags": flags}.get)
        return compiler.numeric_path(), compiler.vector_instructions()

    avx2, avx2_set = cpu("fpu sse4_2 avx avx2 fma")
    avx512, avx512_set = cpu("fpu sse4_2 avx avx2 fma avx512f avx512bw")
    assert (avx2_set, avx512_set) == ("avx2+fma", "avx512f+fma") and avx2 != avx512
    assert cpu("fpu sse4_2 avx")[1] == "avx" and cpu("fpu mmx")[1] == ""  # no FMA named; no vector set known
    assert "AMD EPYC" in avx2 and avx2 != cpu("fpu sse4_2 avx avx2 fma", model="Intel Xeon")[0]
    arm = {"Features": "fp asimd sve", "CPU implementer": "0x41", "CPU part": "0xd40"}  # an ARM CPU's fields
    monkeypatch.setattr(compiler, "_cpuinfo", lambda field: arm.get(field, ""))
    assert compiler.vector_instructions() == "sve" and compiler.cpu_model() == "CPU implementer 0x41 CPU part 0xd40"
    monkeypatch.setattr(compiler, "_cpuinfo", lambda field: "")  # no /proc/cpuinfo: the machine still named
    assert compiler.cpu_model() and compiler.numeric_path().startswith("cpu:")
