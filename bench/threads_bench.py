"""CPU thread counts, idle and under load, side by side in one run: the app's reasoning step and a training step.

Each case runs in a fresh child process pinned to `--cores` cores, so that thread settings and OpenMP's start-up
environment apply cleanly. "Under load" runs one busy process per pinned core beside it (another job competing for
the same cores, as on a shared machine or a busy Space). The settings compared:

- `rule`: what the CLI and the app do (`limssr_core.runtime`): `cpu_threads()` threads (CPU affinity capped by a
  cgroup quota) and OpenMP told to sleep rather than spin while it waits (`prefer_passive_openmp`);
- `rule, spin`: the same count with OpenMP's default wait policy (the app before 2026-12-04);
- `1`: one thread (passive);
- `4x`: four threads per core, what a count blind to a container's CPU quota gives on a host with more cores than
  the quota (passive).

    .venv/bin/python bench/threads_bench.py [--cores 2] [--out bench/results/threads_DATE.json]

The reasoning step is one `Scorer.score` of a 3-minute routine's features (five scoring windows) with the bundled
checkpoint; the training step is one optimiser step at batch 4 on the embedded backbone (fp32). Prints its figures
and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

SETTINGS = ("rule", "rule, spin", "1", "4x")
ROUTINE_SEGMENTS = {"video": 140, "flow": 140, "audio": 140, "commentary": 70}  # about 3 minutes


def reasoning_seconds(repeats: int) -> float:
    import numpy as np

    from app.state import BUNDLED_PATH
    from limssr_core.inference.scorer import Scorer

    scorer = Scorer(BUNDLED_PATH)  # threads: the runtime rule, or $LIMSSR_THREADS
    rng = np.random.default_rng(0)
    features = {m.name: rng.standard_normal((ROUTINE_SEGMENTS.get(m.name, 140), m.dim)).astype(np.float32)
                for m in scorer.config.modalities}
    scorer.score(features)  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        scorer.score(features)
    return (time.perf_counter() - started) / repeats


def training_seconds(repeats: int) -> float:
    import tempfile

    from training_step import training_step, write_features

    from limssr_core.model.backbone import SMOLLM2
    from limssr_core.runtime import apply_cpu_threads

    apply_cpu_threads()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_features(Path(tmp) / "data")
        step, _ = training_step(data, Path(tmp) / "run", "no", SMOLLM2, batch_size=4)
        step()  # warm-up
        started = time.perf_counter()
        for _ in range(repeats):
            step()
        return (time.perf_counter() - started) / repeats


def child(workload: str, setting: str, repeats: int) -> None:
    """Runs in the pinned child: prints one JSON line with the seconds per step and the threads torch used."""
    from limssr_core import runtime

    if setting != "rule, spin":
        runtime.prefer_passive_openmp()  # as the entry points do, before torch loads
    if setting == "1":
        os.environ[runtime.THREADS_ENV] = "1"
    elif setting == "4x":
        os.environ[runtime.THREADS_ENV] = str(4 * runtime.available_cores())
    import torch

    seconds = reasoning_seconds(repeats) if workload == "reasoning" else training_seconds(repeats)
    print("RESULT " + json.dumps({"seconds": seconds, "threads": torch.get_num_threads()}))


def cpu_name() -> str:
    try:
        line = next(x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("model name"))
        return line.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        return platform.machine()


def spin() -> None:
    while True:
        pass


def run_case(workload: str, setting: str, cores: list[int], loaded: bool, repeats: int) -> dict:
    hogs = []
    if loaded:
        for core in cores:
            hog = multiprocessing.Process(target=spin, daemon=True)
            hog.start()
            os.sched_setaffinity(hog.pid, [core])
            hogs.append(hog)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "LIMSSR_THREADS",
                                                            "OMP_WAIT_POLICY")}
    try:
        done = subprocess.run([sys.executable, __file__, "--child", workload, "--setting", setting, "--repeats",
                               str(repeats)], env=env,
                              cwd=REPO, capture_output=True, text=True, check=True,
                              preexec_fn=lambda: os.sched_setaffinity(0, cores))
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join()
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2, help="CPU cores the measured process may use")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=None, help="also write the figures as JSON here")
    parser.add_argument("--child", choices=("reasoning", "training"), help=argparse.SUPPRESS)
    parser.add_argument("--setting", choices=SETTINGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.setting, args.repeats)
        return 0

    from figures_io import report_figures

    cores = sorted(os.sched_getaffinity(0))[: args.cores]
    figures: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu_name(), "cores": cores, "load": "one busy process pinned to each of those cores"}
    for workload in ("reasoning", "training"):
        for loaded in (False, True):
            for setting in SETTINGS:
                result = run_case(workload, setting, cores, loaded, args.repeats)
                key = f"{workload} {'under load' if loaded else 'idle'}, threads {setting}"
                figures[f"{key} (s)"] = round(result["seconds"], 3)
                figures[f"{key}: torch threads"] = result["threads"]
    for workload in ("reasoning", "training"):
        for state in ("idle", "under load"):
            rule = figures[f"{workload} {state}, threads rule (s)"]
            for setting in SETTINGS[1:]:
                figures[f"{workload} {state}: {setting} / rule"] = round(
                    figures[f"{workload} {state}, threads {setting} (s)"] / rule, 2)
    report_figures(figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
