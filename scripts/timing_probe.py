"""Is the synthetic score's *timing* visible in the raw media? A phase-locking probe (analysis, not a feature).

    .venv/bin/python scripts/timing_probe.py --routines DIR [--n 60]

For each routine of a synth-routines folder: the vertical flow of the moving pixels (DIS flow at 160x120) and the
onset strength of the kick band (the 8 lowest of 64 mel bands) are compared per 32-frame segment. The probe takes
the phase of each signal at the routine's true tempo, read from its plan, so a real extractor would first have to
estimate the tempo. A performer on the beat keeps the phase difference constant from segment to segment. The
probe's statistic is the phase-locking value, |mean over segments of exp(i * phase difference)|. It prints the
statistic's Spearman rho with the planned timing component T.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEGMENT = 32
FPS = 25.0


def vertical_motion(path: Path) -> np.ndarray:
    """Per frame pair: mean vertical flow of the pixels moving more than 0.5 px."""
    import av
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    motion, prev = [], None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            gray = cv2.resize(frame.to_ndarray(format="gray"), (160, 120), interpolation=cv2.INTER_AREA)
            if prev is not None:
                flow = dis.calc(prev, gray, None)
                moving = np.linalg.norm(flow, axis=2) > 0.5
                motion.append(float((flow[..., 1] * moving).sum() / max(moving.sum(), 1)))
            prev = gray
    return np.asarray(motion)


def kick_onsets(path: Path, times: np.ndarray) -> np.ndarray:
    import librosa

    from limssr_core.features.media import decode_audio

    y, _, _ = decode_audio(path, None, 22050)
    power = np.abs(librosa.stft(y, n_fft=2048, hop_length=512)) ** 2
    low = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=22050, n_mels=64)[:8])
    onset = librosa.onset.onset_strength(S=low, sr=22050, hop_length=512)
    return np.interp(times, librosa.frames_to_time(np.arange(len(onset)), sr=22050, hop_length=512), onset)


def phase_locking(motion: np.ndarray, onsets: np.ndarray, times: np.ndarray, beat_hz: float) -> float:
    """|mean over segments of exp(i (phase_motion - phase_onsets))| at the beat frequency."""
    diffs = []
    for start in range(0, len(times) - SEGMENT + 1, SEGMENT):
        window = slice(start, start + SEGMENT)
        wave = np.exp(-2j * np.pi * beat_hz * times[window])
        zm = np.sum((motion[window] - motion[window].mean()) * wave)
        zo = np.sum((onsets[window] - onsets[window].mean()) * wave)
        diffs.append(np.exp(1j * (np.angle(zm) - np.angle(zo))))
    return float(abs(np.mean(diffs))) if diffs else float("nan")


def main(argv: list[str] | None = None) -> int:
    from scipy.stats import spearmanr

    from limssr_core.synth.generate import read_plans
    from limssr_core.synth.routines import score_components

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routines", required=True)
    parser.add_argument("--n", type=int, default=60)
    args = parser.parse_args(argv)
    timing, locking = [], []
    for plan in read_plans(args.routines)[: args.n]:
        path = Path(args.routines) / f"{plan.sample_id}.mp4"
        motion = vertical_motion(path)
        times = (np.arange(len(motion)) + 1) / FPS
        locking.append(phase_locking(motion, kick_onsets(path, times), times, plan.tempo_bpm / 60.0))
        timing.append(score_components(plan)["timing"])
    print(f"{len(timing)} routines: Spearman rho of the phase-locking value with timing T = "
          f"{spearmanr(locking, timing)[0]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
