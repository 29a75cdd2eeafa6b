"""`flow` modality: OpenCV dense optical flow (DIS or Farneback), summarised per segment (128-d).

Flow is computed between consecutive frames on grayscale images `flow_width` pixels wide (aspect kept), for one
pair in every `flow_stride` frames (default 2: pairs (0,1), (2,3), ...; still 16 pairs per 32-frame segment).
Each pair gives 64 statistics (displacements in pixels at that width, per frame):

    0-5    magnitude mean, std, 90th percentile (nearest rank); fraction of pixels moving > 0.5 px; mean dx, mean dy
    6-13   orientation histogram (8 bins of 45 degrees), weighted by magnitude, sums to 1 (0 if nothing moves)
    14-29  mean magnitude in a 4x4 grid of cells (row-major)
    30-61  mean dx then mean dy in the same 4x4 grid
    62-63  mean divergence, mean |curl|

A segment's vector is the mean (0-63) and standard deviation (64-127) of its pairs' statistics. A pair belongs to
the segment of its later frame, so the pair across a boundary counts for the segment it enters.
"""

from __future__ import annotations

import numpy as np

from limssr_core.features.registry import FLOW_DIM, ExtractionConfig
from limssr_core.features.segments import Segment

PAIR_DIM = FLOW_DIM // 2
GRID = 4
MOVING_PX = 0.5


def make_flow_fn(method: str):
    """A function (prev_gray, gray) -> flow [H, W, 2] float32. DIS objects are not thread-safe: one per call site."""
    import cv2

    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        return lambda a, b: dis.calc(a, b, None)
    if method == "farneback":
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    raise ValueError(f"unknown flow method {method!r}")


def pair_statistics(flow: np.ndarray) -> np.ndarray:
    """64 statistics of one flow field [H, W, 2]."""
    import cv2

    dx, dy = flow[..., 0], flow[..., 1]
    mag, ang = cv2.cartToPolar(dx, dy)  # angle in radians [0, 2pi)
    out = np.empty(PAIR_DIM, dtype=np.float64)
    out[0], out[1] = mag.mean(), mag.std()
    flat = mag.ravel()
    k = int(0.9 * (flat.size - 1))
    out[2] = np.partition(flat, k)[k]
    out[3] = (mag > MOVING_PX).mean()
    out[4], out[5] = dx.mean(), dy.mean()
    bins = np.minimum((ang * (8 / (2 * np.pi))).astype(np.int64), 7)
    hist = np.bincount(bins.ravel(), weights=mag.ravel(), minlength=8)
    total = hist.sum()
    out[6:14] = hist / total if total > 1e-6 else 0.0
    h, w = mag.shape
    hc, wc = (h // GRID) * GRID, (w // GRID) * GRID

    def grid_mean(a):
        return a[:hc, :wc].reshape(GRID, hc // GRID, GRID, wc // GRID).mean(axis=(1, 3)).ravel()

    out[14:30] = grid_mean(mag)
    out[30:46] = grid_mean(dx)
    out[46:62] = grid_mean(dy)
    div = np.gradient(dx, axis=1) + np.gradient(dy, axis=0)
    curl = np.gradient(dy, axis=1) - np.gradient(dx, axis=0)
    out[62], out[63] = div.mean(), np.abs(curl).mean()
    return out


class FlowAccumulator:
    """Feed frames in order (`add`); `result()` gives [T, 128] float32."""

    def __init__(self, config: ExtractionConfig, segments: list[Segment]):
        self.config = config
        self.flow_fn = make_flow_fn(config.flow_method)
        self.sums = np.zeros((len(segments), PAIR_DIM))
        self.squares = np.zeros((len(segments), PAIR_DIM))
        self.counts = np.zeros(len(segments), dtype=np.int64)
        self.num_frames = 0
        self._prev: np.ndarray | None = None
        self._size: tuple[int, int] | None = None

    def add(self, frame: np.ndarray, segment_index: int) -> None:
        import cv2

        stride = max(1, self.config.flow_stride)
        position = self.num_frames % stride
        self.num_frames += 1
        if stride > 1 and position > 1:  # neither end of a pair: skip the frame
            return
        if self._size is None:
            h, w = frame.shape[:2]
            width = min(self.config.flow_width, w)
            self._size = (width, max(GRID, int(round(h * width / w))))
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if gray.shape[1] != self._size[0] or gray.shape[0] != self._size[1]:
            gray = cv2.resize(gray, self._size, interpolation=cv2.INTER_AREA)
        if self._prev is not None and (stride == 1 or position == 1):
            stats = pair_statistics(self.flow_fn(self._prev, gray))
            self.sums[segment_index] += stats
            self.squares[segment_index] += stats * stats
            self.counts[segment_index] += 1
        self._prev = gray

    def result(self) -> np.ndarray:
        filled = self.counts > 0
        if not filled.any():
            return np.zeros((0, FLOW_DIM), np.float32)
        n = np.maximum(self.counts, 1)[:, None]
        mean = self.sums / n
        std = np.sqrt(np.maximum(self.squares / n - mean * mean, 0.0))
        out = np.concatenate([mean, std], axis=1)
        idx = np.where(filled)[0]
        for i in np.where(~filled)[0]:  # a one-frame first segment has no pair: borrow its nearest neighbour
            out[i] = out[idx[np.argmin(np.abs(idx - i))]]
        return out.astype(np.float32)
