"""`predict`: score one sample's feature files and show every MDA weight (the `Prediction` JSON contract)."""

from __future__ import annotations

import argparse
from pathlib import Path

from limssr_core.commands.common import add_device_argument, write_json
from limssr_core.errors import LimssrError

NAME = "predict"
HELP = "score one sample and show every MDA weight"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder or Hub id owner/name[@revision]")
    parser.add_argument("--sample", required=True, nargs="+",
                        help="a folder of <modality>.npy files, or files given as MODALITY=PATH or named "
                             "<modality>.npy")
    parser.add_argument("--withhold", nargs="*", default=[], help="present modalities to leave out")
    parser.add_argument("--robustness", action="store_true",
                        help="also score every non-empty subset of the present modalities")
    parser.add_argument("--timeline", action="store_true",
                        help="add the occlusion timeline: how much each moment raised or lowered the score")
    parser.add_argument("--timeline-per-modality", action="store_true",
                        help="with --timeline: also occlude each modality alone (one line each; about 2-3x slower)")
    parser.add_argument("--segment-seconds", type=float,
                        help="duration of one segment of the first timeline modality, to put the timeline in seconds "
                             "(extract's default: 32 frames at the video's rate, e.g. 1.28 at 25 fps)")
    parser.add_argument("--json", help="also write the result here")
    parser.add_argument("--report", help="also write a self-contained HTML report here (opens without a network)")
    add_device_argument(parser)


def sample_files(paths: list[str], modalities: list[str]) -> dict[str, Path]:
    """`MODALITY=PATH` or `<modality>.npy` items -> modality -> file."""
    files = {}
    for item in paths:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).stem, item
            if name not in modalities:
                raise LimssrError(f"{item}: cannot tell which modality this is from its name; name it "
                                  f"MODALITY=PATH with one of {modalities}")
        elif name not in modalities:
            raise LimssrError(f"{item}: {name!r} is not a modality of this checkpoint ({modalities})")
        files[name] = Path(path)
    return files


def run(args: argparse.Namespace) -> int:
    from limssr_core.data.dataset import sample_from_files, sample_from_folder
    from limssr_core.inference.scorer import Scorer
    from limssr_core.runtime import resolve_device

    scorer = Scorer(args.checkpoint, device=resolve_device(args.device))
    dims = {m.name: m.dim for m in scorer.config.modalities}
    if len(args.sample) == 1 and Path(args.sample[0]).is_dir():
        sample = sample_from_folder(args.sample[0], dims)
    else:
        sample = sample_from_files(sample_files(args.sample, list(dims)), dims)
    unknown = sorted(set(args.withhold) - set(dims))
    if unknown:
        raise LimssrError(f"--withhold {unknown}: not modalities of this checkpoint ({sorted(dims)})")
    prediction = scorer.score(sample.features, withhold=args.withhold, robustness=args.robustness,
                              timeline=args.timeline or args.timeline_per_modality,
                              timeline_per_modality=args.timeline_per_modality, segment_seconds=args.segment_seconds)
    payload = prediction.to_json()
    if args.report:
        from limssr_core.model.hub import read_card
        from limssr_core.reports.html import checkpoint_identity, render_report, write_report
        from limssr_core.reports.text import card_note

        config = scorer.config
        report = render_report(payload, checkpoint_identity(config, args.checkpoint),
                               card_note(config, read_card(scorer.checkpoint)), title=" ".join(args.sample))
        write_report(args.report, report)
    print(write_json(payload, args.json))
    return 0
