"""Plan -> per-frame pose parameters of the performer (pure numpy, deterministic per plan).

The performer glides between elements (a stride accent on every beat, shifted by the plan's timing offsets), does
each element around its `peak`, falls where the plan says so, and holds an opening and a closing pose. Low
smoothness adds per-frame jitter and stop-motion (each pose held for several frames).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from limssr_core.synth.routines import (
    FALL_DOWN_S,
    FALL_LIE_S,
    FALL_UP_S,
    INTRO_S,
    OUTRO_S,
    SPIN_RATE,
    Element,
    RoutinePlan,
    air_time,
    spin_revolutions,
)

RINK_HALF_M = 6.0  # the performer turns around past this |x|
TURN_RATE = 5.0  # rad/s for the travel-direction turn
BLEND_S = 0.25  # cross-fade between glide and element poses


@dataclass
class Pose:
    """Angles in radians; lengths in metres. Arms: 0 = down, pi/2 = sideways, pi = up."""

    x: float = 0.0  # root position along the rink
    lift: float = 0.0  # extra pelvis height (jumps), may be negative (crouch)
    yaw: float = 0.0  # 0 = facing the camera, +pi/2 = facing +x
    roll: float = 0.0  # in the image plane, about the pelvis (falls)
    down: float = 0.0  # 0 standing .. 1 lying on the ground
    lean: float = 0.0  # torso forward lean
    knee: float = 0.0  # 0 straight .. 1 deep bend
    arm_l: float = 0.5
    arm_r: float = 0.5
    leg_l_fwd: float = 0.0  # hip flexion, + forward / - backward
    leg_r_fwd: float = 0.0
    leg_l_side: float = 0.05  # abduction
    leg_r_side: float = 0.05

    def blend(self, other: "Pose", w: float) -> "Pose":
        """(1 - w) * self + w * other, field by field (x and yaw are handled by the caller)."""
        out = Pose(**self.__dict__)
        for k, v in other.__dict__.items():
            if k not in ("x", "yaw"):
                setattr(out, k, (1 - w) * getattr(self, k) + w * v)
        return out


def _smooth(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


def _bump(t: float, centre: float, width: float) -> float:
    return float(np.exp(-(((t - centre) / width) ** 2)))


def _element_pose(e: Element, t: float, glide: Pose, direction: float) -> tuple[Pose, float]:
    """Pose of element `e` at time t and its extra yaw (whole turns, so yaw is continuous after the element)."""
    p = Pose(**glide.__dict__)
    extra_yaw = 0.0
    side = direction  # the side the performer faces in profile
    if e.type in ("jump", "leap"):
        air = air_time(e.type, e.level)
        takeoff = e.peak - air
        u = (t - takeoff) / air
        if t < takeoff:  # preparation: crouch, arms back
            prep = _smooth((t - (takeoff - 0.3)) / 0.3)
            p.knee, p.arm_l, p.arm_r = 0.6 * prep, 0.4, 0.4
        elif t < e.peak:
            height = 0.25 + 0.12 * e.level if e.type == "jump" else 0.2 + 0.08 * e.level
            p.lift, p.knee = 4 * height * u * (1 - u), 0.0
            if e.type == "jump":  # rotations in the air, arms pulled in, legs crossed
                extra_yaw = 2 * np.pi * e.level * _smooth(u)
                p.arm_l = p.arm_r = 0.15
                p.leg_l_side = p.leg_r_side = -0.05
            else:  # split in the air, arms up
                split = (0.5 + 0.25 * e.level) * np.sin(np.pi * u)
                p.leg_l_fwd, p.leg_r_fwd = split, -split
                p.arm_l, p.arm_r, p.lean = 2.6, 2.2, 0.15
        else:  # landing on one leg, free leg back, arms out
            u = _smooth((t - e.peak) / 0.35)
            p.knee = 0.5 * (1 - u)
            p.leg_r_fwd, p.arm_l, p.arm_r = -0.7, 1.5, 1.5
    elif e.type == "spin":
        spin_end = e.peak + spin_revolutions(e.level) / SPIN_RATE
        if t < e.peak:
            p.knee, p.arm_l, p.arm_r = 0.3, 1.5, 1.5
        elif t < spin_end:
            extra_yaw = 2 * np.pi * SPIN_RATE * (t - e.peak)
            if e.level == 1:  # upright spin, free leg bent forward
                p.leg_r_fwd, p.knee, p.arm_l, p.arm_r = 0.8, 0.1, 0.6, 0.6
            elif e.level == 2:  # sit spin
                p.knee, p.leg_r_fwd, p.arm_l, p.arm_r, p.lean = 0.8, 1.4, 1.2, 1.2, 0.4
            else:  # camel (level 3), camel with arms up (level 4)
                p.lean, p.leg_r_fwd = 1.3, -1.5
                p.arm_l = p.arm_r = 2.9 if e.level == 4 else 1.5
        else:
            p.arm_l, p.arm_r = 1.6, 1.6
    else:  # pose: free leg raised backwards, held
        hold = _smooth((t - e.start) / 0.4) * (1 - _smooth((t - (e.peak + 1.2)) / 0.4))
        raise_ = 0.4 + 0.35 * e.level
        p.leg_r_fwd = -raise_ * hold
        p.lean = 0.5 * raise_ * hold
        p.arm_l = 0.5 + 2.2 * hold
        p.arm_r = 0.5 + 1.0 * hold
        p.yaw = side * np.pi / 2
    return p, extra_yaw


def _fall_pose(e: Element, t: float, base: Pose, direction: float) -> Pose | None:
    """Pose during the fall sequence of `e`, or None outside it."""
    if not e.fall or e.fall_time is None:
        return None
    start = e.fall_time - FALL_DOWN_S
    if t < start or t > e.fall_time + FALL_LIE_S + FALL_UP_S:
        return None
    p = Pose(**base.__dict__)
    if t < e.fall_time:
        g = ((t - start) / FALL_DOWN_S) ** 2  # accelerating, as under gravity
    elif t < e.fall_time + FALL_LIE_S:
        g = 1.0
    else:
        g = 1 - _smooth((t - e.fall_time - FALL_LIE_S) / FALL_UP_S)
    p.roll, p.down = -direction * np.pi / 2 * g, g
    p.lift, p.lean, p.knee = 0.0, 0.0, 0.2 * g
    p.arm_l, p.arm_r = 0.5 + 1.8 * g, 0.5 + 1.2 * g
    p.leg_l_fwd, p.leg_r_fwd = 0.2 * g, -0.1 * g
    return p


def _active(elements: list[Element], t: float) -> Element | None:
    for e in elements:
        if e.start - BLEND_S <= t <= e.end + BLEND_S:
            return e
    return None


def glide_pose(plan: RoutinePlan, t: float, accents: np.ndarray, direction: float) -> Pose:
    """Stride on each accent: a small dip, one leg pushing out to the side, arms balancing."""
    p = Pose()
    if len(accents):
        i = int(np.argmin(np.abs(accents - t)))
        dip = _bump(t, accents[i], 0.09)
        push = _bump(t, accents[i] + 0.12, 0.15)
        left = i % 2 == 0
        p.lift, p.knee = -0.02 * dip, 0.25 * dip
        p.leg_l_side = 0.05 + (0.45 * push if left else 0.0)
        p.leg_r_side = 0.05 + (0.0 if left else 0.45 * push)
        p.leg_l_fwd = -0.3 * push if left else 0.0
        p.leg_r_fwd = 0.0 if left else -0.3 * push
        p.arm_l, p.arm_r = 1.0 + 0.2 * push, 1.0 + 0.2 * (1 - push)
    return p


def plan_poses(plan: RoutinePlan) -> list[Pose]:
    """One Pose per video frame."""
    n, fps = plan.n_frames, plan.fps
    beats = np.asarray(plan.beat_times)
    accents = (beats + np.asarray(plan.beat_offsets))[np.asarray(plan.accented, dtype=bool)]
    speed = 2.0 if plan.discipline == "skating" else 1.4
    poses: list[Pose] = []
    x, direction, base_yaw = -2.0, 1.0, 0.0
    end_t = plan.duration_s - OUTRO_S
    for k in range(n):
        t = k / fps
        e = _active(plan.elements, t)
        # travel direction and speed
        if e is None and x * direction > RINK_HALF_M:
            direction = -direction
        v = speed * direction
        if t < INTRO_S:
            v *= _smooth((t - INTRO_S + 0.5) / 0.5)
        if e is not None:
            if e.type == "spin" and e.peak - 0.2 <= t <= e.end:
                v *= 0.1
            elif e.type == "pose":
                v *= 0.35
            if e.fall and e.fall_time is not None and t > e.fall_time:
                v *= max(0.0, 1 - (t - e.fall_time) / 0.6) * 0.5
        if t > end_t:
            v *= 1 - _smooth((t - end_t) / 0.6)
        # yaw: face the camera at the start and the end, otherwise the travel direction
        target = 0.0 if (t < INTRO_S - 0.3 or t > end_t + 0.2) else direction * np.pi / 2
        base_yaw += float(np.clip(target - base_yaw, -TURN_RATE / fps, TURN_RATE / fps))

        pose = glide_pose(plan, t, accents, direction)
        if t < INTRO_S or t > end_t:  # opening / closing pose: arms raised
            w = 1 - _smooth((t - INTRO_S + 0.4) / 0.4) if t < INTRO_S else _smooth((t - end_t) / 0.5)
            pose = pose.blend(Pose(arm_l=2.6, arm_r=2.6, leg_r_side=0.2), w)
        yaw = base_yaw
        if e is not None:
            w = _smooth((t - (e.start - BLEND_S)) / BLEND_S) * (1 - _smooth((t - e.end) / BLEND_S))
            target_pose, extra = _element_pose(e, t, pose, direction)
            pose_yaw = target_pose.yaw if e.type == "pose" else None
            pose = pose.blend(target_pose, w)
            yaw = base_yaw + extra
            if pose_yaw is not None:
                yaw = (1 - w) * base_yaw + w * pose_yaw
            fallen = _fall_pose(e, t, pose, direction)
            if fallen is not None:
                pose = fallen
        pose.x, pose.yaw = x, yaw
        poses.append(pose)
        x += v / fps
    return _degrade(plan, poses)


def jerk_hold_frames(smoothness: float) -> int:
    """Stop-motion: each pose is shown for this many frames (1 = fluid)."""
    return 1 + int(np.floor(4 * (1 - smoothness) ** 1.5))


def _degrade(plan: RoutinePlan, poses: list[Pose]) -> list[Pose]:
    """Low smoothness: jitter every parameter and hold poses for several frames."""
    rng = np.random.default_rng([plan.seed, plan.index, 2])
    jitter = (1 - plan.latents.smoothness) ** 1.3
    hold = jerk_hold_frames(plan.latents.smoothness)
    out: list[Pose] = []
    n = len(poses)
    noise = rng.standard_normal((n, 8)) * jitter
    for k in range(n):
        src = min(n - 1, int(round(k / hold)) * hold)
        p = Pose(**poses[src].__dict__)
        j = noise[src]
        p.x += 0.04 * j[0]
        p.lift += 0.03 * j[1] * (1 - p.down)
        p.yaw += 0.15 * j[2]
        p.lean += 0.1 * j[3] * (1 - p.down)
        p.arm_l += 0.3 * j[4]
        p.arm_r += 0.3 * j[5]
        p.leg_l_fwd += 0.2 * j[6] * (1 - p.down)
        p.leg_r_fwd += 0.2 * j[7] * (1 - p.down)
        out.append(p)
    return out
