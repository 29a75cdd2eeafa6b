"""Pose -> RGB frames: an articulated figure (head, torso, two-segment limbs) on a rink or a gymnastics floor.

The body is built in 3-D body coordinates (x lateral, y up, z forward), turned by the yaw about the vertical axis,
projected orthographically, turned in the image plane by the roll (falls) and drawn with OpenCV, back limbs first
and darker. The camera pans gently to follow the performer.
"""

from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np

from limssr_core.synth.motion import Pose, plan_poses
from limssr_core.synth.routines import RoutinePlan

GROUND_FRAC = 0.86  # image row of the ground line, as a fraction of the height
METRES_PER_HEIGHT = 3.4  # the frame shows this many metres vertically
WORLD_HALF_M = 9.5  # panorama covers [-WORLD_HALF_M, WORLD_HALF_M] plus half a view on each side
CAMERA_FOLLOW = 0.06  # per-frame exponential smoothing of the camera position
LYING_PELVIS_M = 0.12

UPPER_ARM, FOREARM, THIGH, SHIN, TORSO, NECK_HEAD = 0.32, 0.3, 0.46, 0.46, 0.55, 0.2
SHOULDER_HALF, HIP_HALF = 0.19, 0.1


def _hsv_to_rgb(h: int, s: int, v: int) -> tuple[int, int, int]:
    px = cv2.cvtColor(np.uint8([[[h % 180, s, v]]]), cv2.COLOR_HSV2RGB)[0, 0]
    return int(px[0]), int(px[1]), int(px[2])


def make_background(plan: RoutinePlan, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Panorama (H x Wp x 3 RGB) of the arena and its pixels per metre."""
    w, h = size
    ppm = h / METRES_PER_HEIGHT
    rng = np.random.default_rng([plan.seed, plan.index, 3])
    wp = int(np.ceil(2 * WORLD_HALF_M * ppm + w))
    img = np.zeros((h, wp, 3), np.uint8)
    stands, boards, ground = int(0.26 * h), int(0.33 * h), int(GROUND_FRAC * h)
    # crowd: dark stands with coloured dots
    img[:stands] = (38, 36, 48)
    n_dots = wp * stands // 45
    ys, xs = rng.integers(2, max(stands - 2, 3), n_dots), rng.integers(0, wp, n_dots)
    cols = rng.integers(40, 230, (n_dots, 3))
    for y, x, c in zip(ys, xs, cols):
        cv2.circle(img, (int(x), int(y)), max(1, h // 120), tuple(int(v) for v in c), -1)
    # boards with advertising blocks
    img[stands:boards] = (235, 235, 240)
    x = 0
    while x < wp:
        bw = int(rng.integers(w // 6, w // 3))
        if rng.random() < 0.6:
            col = _hsv_to_rgb(int(rng.integers(0, 180)), 160, 200)
            cv2.rectangle(img, (x + 3, stands + 2), (x + bw - 3, boards - 3), col, -1)
        x += bw
    # floor
    rows = np.linspace(0, 1, h - boards)[:, None]
    if plan.discipline == "skating":
        top, bottom = np.array([205, 222, 238]), np.array([240, 246, 252])
    else:
        top, bottom = np.array([40, 70, 150]), np.array([60, 95, 185])
    img[boards:] = (top + (bottom - top) * rows)[:, None, :].astype(np.uint8)
    for _ in range(wp // 25):  # scratches / carpet texture
        x0, y0 = int(rng.integers(0, wp)), int(rng.integers(boards + 2, h))
        dx, dy = int(rng.integers(-30, 30)), int(rng.integers(-3, 4))
        shade = (185, 200, 215) if plan.discipline == "skating" else (70, 100, 175)
        cv2.line(img, (x0, y0), (x0 + dx, y0 + dy), shade, 1, cv2.LINE_AA)
    marks = (200, 40, 40) if plan.discipline == "skating" else (235, 235, 235)
    for mx in np.arange(-WORLD_HALF_M, WORLD_HALF_M + 0.1, 3.0):  # lines every 3 m make panning visible
        px = int((mx + WORLD_HALF_M) * ppm + w / 2)
        cv2.line(img, (px, boards + 2), (px, h), marks, max(1, h // 100))
    cv2.line(img, (0, ground + h // 20), (wp, ground + h // 20), marks, max(1, h // 120))
    return img, ppm


def _limb_dir(fwd: float, side: float, sign: float) -> np.ndarray:
    """Unit vector of a leg hanging down, flexed forward by `fwd` and abducted by `side` (sign: +1 left)."""
    return np.array([sign * np.sin(side), -np.cos(fwd) * np.cos(side), np.sin(fwd) * np.cos(side)])


def _arm_dir(angle: float, sign: float) -> np.ndarray:
    return np.array([sign * np.sin(angle), -np.cos(angle), 0.15])


def skeleton(p: Pose) -> dict[str, np.ndarray]:
    """Joint positions in world metres (x along the rink, y up) plus a depth, as {name: [x, y, depth]}."""
    up = np.array([0.0, np.cos(p.lean), np.sin(p.lean)])
    lateral = np.array([1.0, 0.0, 0.0])
    rel: dict[str, np.ndarray] = {"pelvis": np.zeros(3)}
    rel["neck"] = TORSO * up
    rel["head"] = rel["neck"] + NECK_HEAD * up
    for name, sign, fwd, side, arm in (("l", 1.0, p.leg_l_fwd, p.leg_l_side, p.arm_l),
                                       ("r", -1.0, p.leg_r_fwd, p.leg_r_side, p.arm_r)):
        hip = sign * HIP_HALF * lateral
        d = _limb_dir(fwd, side, sign)
        bend = np.array([0.0, 0.0, 0.5 * p.knee * THIGH])
        rel[f"knee_{name}"] = hip + THIGH * d + bend
        rel[f"foot_{name}"] = hip + (THIGH + SHIN) * d * (1 - 0.35 * p.knee)
        rel[f"hip_{name}"] = hip
        shoulder = rel["neck"] + sign * SHOULDER_HALF * lateral
        a = _arm_dir(arm, sign)
        a = a / np.linalg.norm(a)
        rel[f"shoulder_{name}"] = shoulder
        rel[f"elbow_{name}"] = shoulder + UPPER_ARM * a
        rel[f"hand_{name}"] = shoulder + (UPPER_ARM + FOREARM) * a
    # yaw about the vertical axis, then the pelvis height that puts the lowest foot on the ground
    c, s = np.cos(p.yaw), np.sin(p.yaw)
    out = {}
    for k, v in rel.items():
        out[k] = np.array([v[0] * c + v[2] * s, v[1], -v[0] * s + v[2] * c])
    standing = -min(out["foot_l"][1], out["foot_r"][1]) + p.lift
    pelvis_y = (1 - p.down) * standing + p.down * LYING_PELVIS_M
    cr, sr = np.cos(p.roll), np.sin(p.roll)
    for k, v in out.items():
        x, y = v[0] * cr - v[1] * sr, v[0] * sr + v[1] * cr
        out[k] = np.array([p.x + x, pelvis_y + y, v[2]])
    return out


BONES = (("pelvis", "neck"), ("shoulder_l", "shoulder_r"), ("hip_l", "hip_r"),
         ("shoulder_l", "elbow_l"), ("elbow_l", "hand_l"), ("shoulder_r", "elbow_r"), ("elbow_r", "hand_r"),
         ("hip_l", "knee_l"), ("knee_l", "foot_l"), ("hip_r", "knee_r"), ("knee_r", "foot_r"))


class FigureRenderer:
    """Draws frames of one routine; `frames()` yields H x W x 3 RGB uint8 arrays, one per video frame."""

    def __init__(self, plan: RoutinePlan, size: tuple[int, int]):
        self.plan, self.size = plan, size
        self.background, self.ppm = make_background(plan, size)
        self.ground = int(GROUND_FRAC * size[1])
        hue = plan.costume_hue
        self.costume = _hsv_to_rgb(hue, 200, 215)
        self.costume_back = _hsv_to_rgb(hue, 200, 120)
        self.trim = _hsv_to_rgb(hue + 90, 180, 240)
        self.skin, self.hair = (232, 190, 160), (70, 45, 30)
        self.scale = size[1] / 240

    def frames(self) -> Iterator[np.ndarray]:
        w, h = self.size
        poses = plan_poses(self.plan)
        cam = poses[0].x if poses else 0.0
        lim = WORLD_HALF_M - 0.5 * w / self.ppm
        for p in poses:
            cam += CAMERA_FOLLOW * (p.x - cam)
            cam = float(np.clip(cam, -lim, lim))
            left = int(round((cam + WORLD_HALF_M) * self.ppm))
            frame = self.background[:, left:left + w].copy()
            self.draw(frame, p, cam)
            yield frame

    def _px(self, v: np.ndarray, cam: float) -> tuple[int, int]:
        w = self.size[0]
        return int(round((v[0] - cam) * self.ppm + w / 2)), int(round(self.ground - v[1] * self.ppm))

    def draw(self, frame: np.ndarray, p: Pose, cam: float) -> None:
        j = skeleton(p)
        t = max(1, int(round(5 * self.scale)))
        # shadow: smaller and fainter in the air
        height = max(0.0, min(j["foot_l"][1], j["foot_r"][1]))
        cx, _ = self._px(np.array([j["pelvis"][0], 0.0]), cam)
        rx = max(2, int((0.35 + 0.5 * p.down) * self.ppm / (1 + 2 * height)))
        overlay = frame.copy()
        cv2.ellipse(overlay, (cx, self.ground + 2), (rx, max(1, rx // 5)), 0, 0, 360, (60, 60, 70), -1)
        cv2.addWeighted(overlay, 0.45, frame, 0.55, 0, dst=frame)
        # bones, far ones first
        facing_front = np.cos(p.yaw) > 0
        items = []
        for a, b in BONES:
            depth = 0.5 * (j[a][2] + j[b][2])
            side_col = self.costume if depth >= -0.02 else self.costume_back
            thick = 2 * t if (a, b) == ("pelvis", "neck") else t
            items.append((depth, a, b, side_col, thick))
        for depth, a, b, col, thick in sorted(items, key=lambda it: it[0]):
            limb_col = self.skin if b.startswith("hand") else col
            cv2.line(frame, self._px(j[a], cam), self._px(j[b], cam), limb_col, thick, cv2.LINE_AA)
        for foot in ("foot_l", "foot_r"):
            cv2.circle(frame, self._px(j[foot], cam), max(1, t // 2 + 1), (25, 25, 30), -1, cv2.LINE_AA)
        if facing_front:  # a chest emblem shows which way the performer faces
            chest = 0.6 * j["neck"] + 0.4 * j["pelvis"]
            cv2.circle(frame, self._px(chest, cam), max(1, t - 1), self.trim, -1, cv2.LINE_AA)
        head = self._px(j["head"], cam)
        r = max(2, int(0.12 * self.ppm))
        cv2.circle(frame, head, r, self.skin, -1, cv2.LINE_AA)
        hair_dir = np.array([-np.sin(p.yaw), 0.0])  # hair on the back of the head
        hx = int(head[0] + 0.5 * r * hair_dir[0] * np.cos(p.roll))
        cv2.circle(frame, (hx, head[1] - r // 3), max(1, int(r * 0.75)), self.hair, -1, cv2.LINE_AA)
