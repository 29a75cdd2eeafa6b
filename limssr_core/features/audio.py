"""`audio` modality: librosa features per segment (140-d), on mono audio at 22.05 kHz (STFT 2048, hop 512).

Per segment (the same time windows as the video segments):

    0-63     log-mel (64 bands) mean, in dB / 20 (power relative to full scale)
    64-127   log-mel standard deviation, dB / 20
    128-130  onset strength mean, std, max
    131-133  RMS mean, std, max, as log10(RMS + 1e-5)
    134      local tempo (BPM / 120; librosa's per-frame tempo over an 8 s context)
    135-136  spectral centroid mean, std (kHz)
    137      spectral bandwidth mean (kHz)
    138      spectral roll-off (85%) mean (kHz)
    139      spectral flatness mean

Silence rule: if the whole track's RMS is below `ExtractionConfig.silence_rms` (default 1e-3, about -60 dBFS) the
modality is reported missing ("audio silent"), never stored as near-zero features.
"""

from __future__ import annotations

import numpy as np

from limssr_core.features.registry import AUDIO_DIM, ExtractionConfig
from limssr_core.features.segments import Segment

N_FFT = 2048
HOP = 512


def track_rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def covered_segments(segments: list[Segment], duration_s: float, min_tail: float) -> list[Segment]:
    """The segments an audio track of `duration_s` covers (at least `min_tail` of each window)."""
    return [s for s in segments if min(s.end_s, duration_s) - s.start_s >= min_tail * max(s.end_s - s.start_s, 1e-9)]


def audio_features(samples: np.ndarray, sample_rate: int, segments: list[Segment],
                   config: ExtractionConfig | None = None) -> np.ndarray:
    """Mono float32 samples -> [len(segments), 140] float32 (see the module docstring for the layout)."""
    import librosa

    config = config or ExtractionConfig()
    y = np.asarray(samples, dtype=np.float32)
    if y.size < N_FFT:
        y = np.pad(y, (0, N_FFT - y.size))
    spec = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))  # [1 + N_FFT/2, F]
    power = spec ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=sample_rate, n_mels=config.n_mels)
    mel_db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
    onset = librosa.onset.onset_strength(S=mel_db, sr=sample_rate, hop_length=HOP)
    rms = librosa.feature.rms(S=spec, frame_length=N_FFT, hop_length=HOP)[0]
    centroid = librosa.feature.spectral_centroid(S=spec, sr=sample_rate)[0] / 1000
    bandwidth = librosa.feature.spectral_bandwidth(S=spec, sr=sample_rate)[0] / 1000
    rolloff = librosa.feature.spectral_rolloff(S=spec, sr=sample_rate, roll_percent=0.85)[0] / 1000
    flatness = librosa.feature.spectral_flatness(S=spec)[0]
    tempo = librosa.feature.tempo(onset_envelope=onset, sr=sample_rate, hop_length=HOP, aggregate=None) / 120.0
    num_frames = mel_db.shape[1]
    log_rms = np.log10(rms + 1e-5)

    out = np.zeros((len(segments), AUDIO_DIM), dtype=np.float64)
    for row, seg in enumerate(segments):
        lo = min(int(np.floor(seg.start_s * sample_rate / HOP)), num_frames - 1)
        hi = max(lo + 1, min(int(np.ceil(seg.end_s * sample_rate / HOP)), num_frames))
        window = slice(lo, hi)
        m = mel_db[:, window] / 20.0
        out[row, 0:64] = m.mean(axis=1)
        out[row, 64:128] = m.std(axis=1)
        o = onset[window]
        out[row, 128:131] = o.mean(), o.std(), o.max()
        r = log_rms[window]
        out[row, 131:134] = r.mean(), r.std(), r.max()
        out[row, 134] = tempo[window].mean()
        c = centroid[window]
        out[row, 135:137] = c.mean(), c.std()
        out[row, 137] = bandwidth[window].mean()
        out[row, 138] = rolloff[window].mean()
        out[row, 139] = flatness[window].mean()
    return out.astype(np.float32)
