"""One device, precision and thread rule (limssr_core/runtime.py)."""

import pytest

from limssr_core import runtime
from limssr_core.errors import LimssrError

CPU_HAS_NATIVE_BF16 = runtime.cpu_has_native_bf16  # the reader itself (conftest patches it for every test)


def test_device_rule(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_available", lambda: False)
    assert runtime.resolve_device("auto") == "cpu" and runtime.resolve_device(None) == "cpu"
    with pytest.raises(LimssrError, match="no CUDA GPU"):
        runtime.resolve_device("cuda")
    with pytest.raises(LimssrError, match="unknown device 'tpu'"):
        runtime.resolve_device("tpu")
    monkeypatch.setattr(runtime, "cuda_available", lambda: True)
    assert runtime.resolve_device("auto") == "cuda" and runtime.resolve_device("cuda:1") == "cuda:1"


def test_precision_rule(monkeypatch):
    assert runtime.resolve_precision("auto", "cpu") == "no"  # conftest: a CPU without native bf16
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    assert runtime.resolve_precision("auto", "cpu") == "bf16"  # AMX / AVX512-BF16: bf16 trains faster there
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: None)
    assert runtime.resolve_precision("auto", "cpu") == "no"  # flags unreadable: the safe choice
    assert runtime.resolve_precision(None, "cuda") == "bf16"
    assert runtime.resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(LimssrError, match="fp16 autocast needs a CUDA GPU"):
        runtime.resolve_precision("fp16", "cpu")
    with pytest.raises(LimssrError, match="unknown precision"):
        runtime.resolve_precision("int8", "cpu")


def test_bf16_on_a_cpu_without_native_bf16_warns(tmp_path, monkeypatch, caplog):
    amx, avx2 = tmp_path / "amx", tmp_path / "avx2"
    amx.write_text("flags\t: fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    avx2.write_text("flags\t: fpu sse avx2 fma\n")
    assert CPU_HAS_NATIVE_BF16(amx) is True
    assert CPU_HAS_NATIVE_BF16(avx2) is False
    assert CPU_HAS_NATIVE_BF16(tmp_path / "absent") is None
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    with caplog.at_level("WARNING", logger="limssr_core.runtime"):
        assert runtime.resolve_precision("bf16", "cpu") == "bf16"  # what was asked for, with a warning
        assert runtime.resolve_precision("bf16", "cuda") == "bf16"
        assert runtime.resolve_precision("auto", "cpu") == "no"
    assert caplog.text.count("runs emulated") == 1
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    caplog.clear()
    runtime.resolve_precision("bf16", "cpu")
    assert "emulated" not in caplog.text


def test_thread_rule(monkeypatch):
    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    monkeypatch.setattr(runtime, "cgroup_cpu_quota", lambda: None)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert runtime.cpu_threads() == 3  # the cores this process may use, not the machine's
    assert runtime.cpu_threads(1) == 1
    monkeypatch.setenv(runtime.THREADS_ENV, "2")
    assert runtime.cpu_threads() == 2
    monkeypatch.setenv(runtime.THREADS_ENV, "many")
    with pytest.raises(LimssrError, match="LIMSSR_THREADS"):
        runtime.cpu_threads()


def test_package_helpers():
    assert runtime.has_package("numpy") and not runtime.has_package("no_such_package_xyz")
    assert (runtime.package_dir("numpy", "pip install numpy") / "__init__.py").is_file()
    with pytest.raises(LimssrError, match="pip install xyz"):
        runtime.package_dir("no_such_package_xyz", "pip install xyz")


def test_train_on_cuda_without_a_gpu_is_an_error_not_a_cpu_run(monkeypatch, tmp_path, capsys):
    from limssr_core.commands import main

    monkeypatch.setattr(runtime, "cuda_available", lambda: False)
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--device", "cuda"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_cgroup_cpu_quota_caps_the_threads(tmp_path, monkeypatch):
    v2, v1, none, broken = (tmp_path / n for n in ("v2", "v1", "none", "broken"))
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    (none / "cpu").mkdir(parents=True)
    (none / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (none / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    broken.mkdir()
    (broken / "cpu.max").write_text("garbage")
    assert runtime.cgroup_cpu_quota(v2) == 1.5 and runtime.cgroup_cpu_quota(v1) == 2.0
    assert runtime.cgroup_cpu_quota(none) is None and runtime.cgroup_cpu_quota(broken) is None
    assert runtime.cgroup_cpu_quota(tmp_path / "absent") is None
    (v2 / "cpu.max").write_text("max 100000\n")
    assert runtime.cgroup_cpu_quota(v2) is None
    # a container given 2 CPUs on a 16-core host: 2 threads, not 16
    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setattr(runtime, "cgroup_cpu_quota", lambda: 2.0)
    assert runtime.cpu_threads() == 2
    monkeypatch.setattr(runtime, "cgroup_cpu_quota", lambda: 1.5)
    assert runtime.cpu_threads() == 2  # rounded up
    monkeypatch.setattr(runtime, "cgroup_cpu_quota", lambda: 0.2)
    assert runtime.cpu_threads() == 1
    monkeypatch.setattr(runtime, "cgroup_cpu_quota", lambda: 64.0)
    assert runtime.cpu_threads() == 16  # the quota never raises the count above the affinity


def test_openmp_waits_passively_in_the_entry_points_unless_the_user_chose(monkeypatch):
    import subprocess
    import sys

    monkeypatch.delenv(runtime.OPENMP_WAIT_ENV, raising=False)
    assert runtime.prefer_passive_openmp() is False  # torch is already loaded in this test process: too late
    assert runtime.os.environ[runtime.OPENMP_WAIT_ENV] == "PASSIVE"
    monkeypatch.setenv(runtime.OPENMP_WAIT_ENV, "ACTIVE")
    runtime.prefer_passive_openmp()
    assert runtime.os.environ[runtime.OPENMP_WAIT_ENV] == "ACTIVE"  # the user's choice is kept
    # the command line's entry point sets it before torch loads
    code = ("import runpy, sys, os; sys.argv = ['limssr_core', '--help'];\n"
            "try:\n    runpy.run_module('limssr_core', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('WAIT', os.environ.get('OMP_WAIT_POLICY'))")
    env = {k: v for k, v in runtime.os.environ.items() if k != runtime.OPENMP_WAIT_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "WAIT PASSIVE" in out.stdout


def test_training_attention_rule():
    from limssr_core.config import TrainingConfig

    assert runtime.resolve_train_attention("auto", "cpu") == "eager"  # faster backward on a CPU (runtime.py)
    assert runtime.resolve_train_attention("auto", "cuda") is None  # the body's own attention on a GPU
    assert runtime.resolve_train_attention("sdpa", "cpu") == "sdpa"
    assert runtime.resolve_train_attention("eager", "cuda:1") == "eager"
    with pytest.raises(LimssrError, match="--train-attention must be one of auto, sdpa, eager"):
        TrainingConfig(train_attention="flash")
