"""Extraction in several processes: worker processes on one machine (`extract --workers N`), or one share per process
of a distributed launch (`torchrun --nproc_per_node N -m limssr_core extract ...`, or accelerate's launcher).

Either way each process loads the models once and writes only its own samples' feature and status files; the
dataset's shared files (`dataset.json`, `labels.csv`, `extract_report.json`) are merged once, at the end, from the
status files (`dataset_builder.finalize_dataset`, also `extract --finalize`). Python's process pool and accelerate's
process state do the process management; this module only decides who extracts what.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import timedelta
from multiprocessing import get_context

from limssr_core.features.dataset_builder import ExtractionJob, extract_one, extract_videos
from limssr_core.features.registry import ExtractionConfig
from limssr_core.runtime import available_cores


def distributed_launch() -> bool:
    """Whether this process is one of several started by torchrun or accelerate (their WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def main_launched_process() -> bool:
    """Whether this process is the main one of a launch (RANK 0), or not launched at all."""
    return int(os.environ.get("RANK", "0")) == 0


def _start_worker(config: ExtractionConfig, modalities: tuple[str, ...]) -> None:
    from limssr_core.features.extract import preload_models
    from limssr_core.runtime import apply_cpu_threads, prefer_passive_openmp

    prefer_passive_openmp()
    apply_cpu_threads(config.num_threads)
    preload_models(config, modalities)  # once per worker, not once per video


def extract_in_workers(job: ExtractionJob, workers: int, progress: bool = True) -> dict[str, str]:
    """The job's videos across `workers` processes of this machine, the cores shared between them (unless the job
    sets its own thread count): {sample id: outcome}. Videos are handed out one at a time, so a long one does not
    hold up a whole share."""
    from tqdm.auto import tqdm

    threads = job.config.num_threads or max(1, available_cores() // workers)
    job = dataclasses.replace(job, config=dataclasses.replace(job.config, num_threads=threads))
    outcomes: dict[str, str] = {}
    # spawn: a fork of a process holding torch's thread pools (or CUDA) is not safe
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_start_worker,
                             initargs=(job.config, job.modalities)) as pool:
        futures = {pool.submit(extract_one, job, sid, video): sid for sid, video in job.videos}
        for future in tqdm(as_completed(futures), total=len(futures), desc=f"extract ({workers} workers)",
                           unit="video", disable=not progress):
            outcomes[futures[future]] = future.result()
    return outcomes


def extract_share(job: ExtractionJob, progress: bool = True) -> bool:
    """This process's share of a distributed launch (videos rank, rank + N, ...), on its own GPU when the job asks
    for CUDA; waits for every process to finish. True in the main process, which then finalizes the dataset."""
    from accelerate import PartialState

    # extraction of a share can take hours: the processes' one barrier must not time out before it is reached
    state = PartialState(cpu=not job.config.device.startswith("cuda"), timeout=timedelta(days=7))
    if job.config.device.startswith("cuda"):
        job = dataclasses.replace(job, config=dataclasses.replace(job.config, device=str(state.device)))
    extract_videos(job, job.videos[state.process_index::state.num_processes],
                   progress=progress and state.is_local_main_process)
    state.wait_for_everyone()
    return state.is_main_process
