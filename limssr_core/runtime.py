"""One rule for where and how things run: device, autocast precision, CPU threads, and installed packages.

Used by the commands, the trainer, the scorer, evaluation and the app, so that `--device`, `--precision` and the
thread count mean the same thing everywhere.

- Device: `auto` is CUDA when a GPU is visible, else the CPU; asking for `cuda` without one is an error, never a
  silent CPU run.
- Precision: `auto` is bf16 autocast on CUDA and on a CPU with bf16 matrix instructions (AMX or AVX512-BF16: there
  it trains faster than fp32, bench/precision_bench.py), and fp32 (`no`) on any other CPU; `bf16` is allowed on both
  (a CPU without native bf16 instructions runs it emulated, many times slower than fp32, and a warning says so);
  `fp16` needs CUDA.
- Attention in training steps (`--train-attention`): `auto` is eager attention on the CPU, whose backward is faster
  than sdpa's at the embedded backbone's training lengths (bench/results/train_attention_2026-12-07.md), and the
  body's own (sdpa) on CUDA; validation and scoring keep sdpa, faster without gradients.
- Threads: an explicit count wins, then `$LIMSSR_THREADS`, then the cores this process may actually run on: its CPU
  affinity (`os.sched_getaffinity`: taskset, container CPU sets), capped by a cgroup CPU quota (`docker --cpus`, a
  Space's vCPUs on a larger host), never torch's guess of the machine's cores. Too many threads on too few cores
  make every parallel region wait for a descheduled thread.
- OpenMP waits passively: the entry points (`python -m limssr_core`, `app.py`) call `prefer_passive_openmp` before
  torch loads, so threads that wait sleep instead of spinning, which under CPU contention (another job on the same
  cores) spends the cores on that job's and our own work; measured by bench/threads_bench.py (idle: no change;
  under load: 0.71-0.78x the time). A value the user set in `$OMP_WAIT_POLICY` is kept.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import sys
from pathlib import Path

from limssr_core.errors import LimssrError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "no", "bf16", "fp16")
THREADS_ENV = "LIMSSR_THREADS"
OPENMP_WAIT_ENV = "OMP_WAIT_POLICY"
CGROUP_ROOT = Path("/sys/fs/cgroup")
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs with bf16 matrix instructions

log = logging.getLogger(__name__)


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve_device(name: str | None = "auto") -> str:
    """`auto` | `cpu` | `cuda` | `cuda:N` -> a torch device string; refuses CUDA when there is none."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return "cuda" if cuda_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not cuda_available():
            raise LimssrError(f"--device {name} was asked for but no CUDA GPU is available; use --device cpu or auto")
        return name
    raise LimssrError(f"unknown device {name!r}; use one of {', '.join(DEVICES)} (or cuda:N)")


def resolve_precision(name: str | None, device: str) -> str:
    """Autocast precision for training and validation: 'no' | 'bf16' | 'fp16' (accelerate's names)."""
    name = (name or "auto").strip().lower()
    if name not in PRECISIONS:
        raise LimssrError(f"unknown precision {name!r}; use one of {', '.join(PRECISIONS)}")
    on_cuda = device.startswith("cuda")
    if name == "auto":
        return "bf16" if on_cuda or cpu_has_native_bf16() else "no"
    if name == "fp16" and not on_cuda:
        raise LimssrError("fp16 autocast needs a CUDA GPU; on the CPU use bf16 or no")
    if name == "bf16" and not on_cuda and cpu_has_native_bf16() is False:
        log.warning("this CPU has no native bf16 instructions (%s): bf16 runs emulated, several times slower than "
                    "fp32 (bench/precision_bench.py measures it); use --precision auto or no",
                    " / ".join(NATIVE_BF16_FLAGS))
    return name


def resolve_train_attention(name: str, device: str) -> str | None:
    """The body's attention for training steps: 'sdpa' | 'eager', or None to keep the one it was loaded with."""
    if name == "auto":
        return None if device.startswith("cuda") else "eager"
    return name


def cpu_has_native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool | None:
    """Whether the CPU has bf16 matrix instructions (AVX512-BF16 or AMX); None where that cannot be read."""
    try:
        flags = set(Path(cpuinfo).read_text().split())
    except OSError:
        return None
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def cgroup_cpu_quota(root: str | Path = CGROUP_ROOT) -> float | None:
    """The CPUs a cgroup quota lets this container use (e.g. 2.0 for `docker --cpus 2`), or None without a quota.

    Reads cgroup v2's `cpu.max` ("QUOTA PERIOD", or "max PERIOD") or v1's `cpu/cpu.cfs_quota_us` (-1: none) and
    `cpu/cpu.cfs_period_us`, as seen from inside the container. The standard library has no reader for this
    (`os.process_cpu_count` counts affinity only), so it is written here.
    """
    root = Path(root)
    try:
        if (root / "cpu.max").is_file():
            quota, period = (root / "cpu.max").read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        if (root / "cpu" / "cpu.cfs_quota_us").is_file():
            quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
            period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
            return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None
    return None


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (rounded up); at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def prefer_passive_openmp() -> bool:
    """Ask OpenMP to let waiting threads sleep rather than spin (`OMP_WAIT_POLICY=PASSIVE`) unless the user chose.

    OpenMP reads the variable once, when torch first loads it, so entry points call this before importing torch;
    returns whether it can still take effect in this process.
    """
    os.environ.setdefault(OPENMP_WAIT_ENV, "PASSIVE")
    return "torch" not in sys.modules


def cpu_threads(requested: int | None = None) -> int:
    """The thread count for torch, OpenCV and the decoders: explicit, else $LIMSSR_THREADS, else available cores."""
    if requested:
        if requested < 1:
            raise LimssrError(f"the thread count must be >= 1, got {requested}")
        return int(requested)
    env = os.environ.get(THREADS_ENV, "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise LimssrError(f"${THREADS_ENV} must be a positive integer, got {env!r}")
        return int(env)
    return available_cores()


def apply_cpu_threads(requested: int | None = None) -> int:
    """Set torch's and OpenCV's (process-wide) thread counts by the rule above; returns the count used."""
    import torch

    n = cpu_threads(requested)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:
        import cv2

        cv2.setNumThreads(n)
    except ImportError:
        pass
    return n


def has_package(name: str) -> bool:
    """Whether a package is installed, found without importing it."""
    return importlib.util.find_spec(name) is not None


def package_dir(package: str, install_hint: str) -> Path:
    """Folder of an installed package (found without running its `__init__`), or a LimssrError with how to get it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LimssrError(f"package '{package}' is not installed; install it with: {install_hint}")
    return Path(list(spec.submodule_search_locations)[0])
