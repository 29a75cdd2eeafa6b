"""LIMSSR Studio web app: `python app.py` (or `make run`) serves http://127.0.0.1:7860, fully offline.

Every flag has an environment variable (flag > environment > default); `python app.py --help` lists them.
On a Hugging Face Space the platform's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are honoured too.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from limssr_core.runtime import prefer_passive_openmp

prefer_passive_openmp()  # before torch (and with it OpenMP) is first imported: waiting threads sleep, not spin


def _env(name: str, default=None, *fallbacks: str):
    for key in (name, *fallbacks):
        if os.environ.get(key):
            return os.environ[key]
    return default


def _bool(text) -> bool:
    return str(text).strip().lower() in ("1", "true", "yes", "on")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from app.state import AppSettings

    d = AppSettings()  # every default is written once, there
    p = argparse.ArgumentParser(description="LIMSSR Studio: score a judged routine from video, audio and commentary.")
    p.add_argument("--host", default=_env("LIMSSR_HOST", "127.0.0.1", "GRADIO_SERVER_NAME"),
                   help="interface to bind (env LIMSSR_HOST; default 127.0.0.1, 0.0.0.0 to serve the network)")
    p.add_argument("--port", type=int, default=int(_env("LIMSSR_PORT", 7860, "GRADIO_SERVER_PORT")),
                   help="port (env LIMSSR_PORT; default 7860)")
    p.add_argument("--share", action="store_true", default=_bool(_env("LIMSSR_SHARE", "0")),
                   help="also open a public gradio.live link (needs internet; env LIMSSR_SHARE=1)")
    p.add_argument("--checkpoint", default=_env("LIMSSR_CHECKPOINT", "bundled"),
                   help="default checkpoint: 'bundled' (assets/demo_checkpoint), a folder, or a Hub id "
                        "owner/name[@revision] (env LIMSSR_CHECKPOINT)")
    p.add_argument("--device", default=_env("LIMSSR_DEVICE", "cpu"), help="cpu, cuda, cuda:1 ... (env LIMSSR_DEVICE)")
    p.add_argument("--max-upload-mb", type=float, default=float(_env("LIMSSR_MAX_UPLOAD_MB", d.max_upload_mb)),
                   help="larger video uploads are refused before processing (env LIMSSR_MAX_UPLOAD_MB; default "
                        f"{d.max_upload_mb:g})")
    p.add_argument("--max-audio-mb", type=float, default=float(_env("LIMSSR_MAX_AUDIO_MB", d.max_audio_mb)),
                   help=f"larger separate audio files are refused (env LIMSSR_MAX_AUDIO_MB; default {d.max_audio_mb:g})")
    p.add_argument("--max-commentary-kb", type=float,
                   default=float(_env("LIMSSR_MAX_COMMENTARY_KB", d.max_commentary_kb)),
                   help="larger commentary files are refused (env LIMSSR_MAX_COMMENTARY_KB; default "
                        f"{d.max_commentary_kb:g}); longer text is cut to 20000 characters with a warning")
    p.add_argument("--max-minutes", type=float, default=float(_env("LIMSSR_MAX_MINUTES", d.max_minutes)),
                   help=f"longer routines are refused (env LIMSSR_MAX_MINUTES; default {d.max_minutes:g}: a free "
                        "skate of about 4 minutes plus margin)")
    p.add_argument("--max-video-fps", type=float, default=float(_env("LIMSSR_MAX_VIDEO_FPS", d.max_video_fps)),
                   help="decoding budget: at most --max-minutes of video at this frame rate (env "
                        f"LIMSSR_MAX_VIDEO_FPS; default {d.max_video_fps:g})")
    p.add_argument("--max-video-megapixels-per-s", type=float,
                   default=float(_env("LIMSSR_MAX_VIDEO_MEGAPIXELS_PER_S", d.max_video_megapixels_per_s)),
                   help="decoding budget: at most --max-minutes of video at this many megapixels per second (env "
                        f"LIMSSR_MAX_VIDEO_MEGAPIXELS_PER_S; default {d.max_video_megapixels_per_s:g}: 1080p at 30 "
                        "fps; a larger video may be shorter)")
    p.add_argument("--concurrency", type=int, default=int(_env("LIMSSR_CONCURRENCY", 2)),
                   help="requests processed at once (env LIMSSR_CONCURRENCY; default 2)")
    p.add_argument("--queue-size", type=int, default=int(_env("LIMSSR_QUEUE_SIZE", 16)),
                   help="waiting requests beyond which new ones are refused (env LIMSSR_QUEUE_SIZE; default 16)")
    p.add_argument("--max-routines", type=int, default=int(_env("LIMSSR_MAX_ROUTINES", d.max_routines)),
                   help="routines one Competition upload may hold (env LIMSSR_MAX_ROUTINES; default "
                        f"{d.max_routines})")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch/OpenCV/decoding (default: env LIMSSR_THREADS, else the cores this "
                        "process may use; limssr_core/runtime.py)")
    p.add_argument("--feature-cache", type=int, default=int(_env("LIMSSR_FEATURE_CACHE", 8)),
                   help="extracted routines kept for instant re-scoring (0 = off; default 8)")
    p.add_argument("--checkpoint-dir", action="append", default=None,
                   help="folder whose checkpoint folders the selector lists by name (repeatable; default runs/, "
                        "checkpoints/)")
    p.add_argument("--allow-hub-checkpoint", action="append", default=None, metavar="OWNER/NAME",
                   help="a Hub checkpoint id (or OWNER/*) visitors may choose; repeatable (env LIMSSR_HUB_ALLOWLIST, "
                        "comma-separated). Only its checkpoint files are downloaded, size-capped")
    p.add_argument("--max-loaded-checkpoints", type=int,
                   default=int(_env("LIMSSR_MAX_LOADED_CHECKPOINTS", d.max_loaded_checkpoints)),
                   help="checkpoints kept loaded at once; the least recently used is dropped first (env "
                        f"LIMSSR_MAX_LOADED_CHECKPOINTS; default {d.max_loaded_checkpoints})")
    p.add_argument("--allow-checkpoint-paths", action="store_true",
                   default=_bool(_env("LIMSSR_ALLOW_CHECKPOINT_PATHS", "0")),
                   help="RISKY: also accept a checkpoint folder path typed into the page, so anyone who reaches the "
                        "page can load any checkpoint folder on this server. For a local, single-user app only "
                        "(env LIMSSR_ALLOW_CHECKPOINT_PATHS=1)")
    p.add_argument("--no-custom-checkpoints", action="store_true", help=argparse.SUPPRESS)  # now the default
    p.add_argument("--no-preload", action="store_true", help="load models on the first request, not at start")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP request otherwise
    from app import AppSettings, check_checkpoint, create_app, launch

    settings = AppSettings(
        checkpoint=args.checkpoint, device=args.device, max_upload_mb=args.max_upload_mb,
        max_minutes=args.max_minutes, max_video_fps=args.max_video_fps,
        max_video_megapixels_per_s=args.max_video_megapixels_per_s, concurrency=args.concurrency, queue_size=args.queue_size,
        max_routines=args.max_routines,
        max_audio_mb=args.max_audio_mb, max_commentary_kb=args.max_commentary_kb,
        threads=args.threads, feature_cache=args.feature_cache,
        checkpoint_dirs=tuple(args.checkpoint_dir or ("runs", "checkpoints")),
        allow_checkpoint_paths=args.allow_checkpoint_paths, max_loaded_checkpoints=args.max_loaded_checkpoints,
        preload=not args.no_preload,
        hub_allowlist=tuple(args.allow_hub_checkpoint or [i.strip() for i in _env("LIMSSR_HUB_ALLOWLIST", "").split(",")
                                                           if i.strip()]),
    )
    problem = check_checkpoint(settings)
    if problem:
        print(f"\nLIMSSR Studio: {problem}\n", file=sys.stderr)
        if settings.checkpoint != "bundled":
            return 2  # an explicitly requested checkpoint that cannot be used: stop here
    demo, _ = create_app(settings, startup_problem=problem)
    print(f"LIMSSR Studio on http://{args.host}:{args.port} (checkpoint: {settings.checkpoint}, "
          f"device: {settings.device}, upload limit {settings.max_upload_mb:g} MB)", flush=True)
    launch(demo, settings, host=args.host, port=args.port, share=args.share, block=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
