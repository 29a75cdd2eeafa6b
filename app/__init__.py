"""LIMSSR Studio's Gradio app: `catalog` (which checkpoints it serves), `state` (shared models), `handlers` (logic),
`competition`, `examples`, `layout` (UI).

`create_app` builds everything for a set of `AppSettings`; `launch` serves it (app.py is the command-line entry).
"""

from __future__ import annotations

import logging
import os

from app.catalog import BUNDLED, BUNDLED_PATH, operator_source
from app.state import AppSettings, AppState
from limssr_core.errors import LimssrError
from limssr_core.model.hub import resolve_checkpoint_folder

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network calls from Gradio itself
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

log = logging.getLogger("limssr.app")

__all__ = ["AppSettings", "AppState", "check_checkpoint", "create_app", "launch"]


def check_checkpoint(settings: AppSettings) -> str | None:
    """None if the operator's checkpoint resolves; else a message that says what is wrong and what to do."""
    try:
        resolve_checkpoint_folder(operator_source(settings.checkpoint))
    except LimssrError as err:
        if settings.checkpoint == BUNDLED:
            return (f"no checkpoint to score with: the bundled demo checkpoint {BUNDLED_PATH} is missing. Build it "
                    "(see README) or start with --checkpoint FOLDER_OR_HUB_ID (env LIMSSR_CHECKPOINT); you can also "
                    "pick another checkpoint in the selector below.")
        return str(err)
    return None


def create_app(settings: AppSettings, startup_problem: str | None = None):
    """(demo, state): the Blocks app and its shared state; preloads models in the background if asked."""
    from app.layout import build_demo

    from limssr_core.runtime import apply_cpu_threads

    apply_cpu_threads(settings.threads)  # the core's one thread rule
    state = AppState.create(settings)
    demo = build_demo(state, startup_problem)
    if settings.preload and startup_problem is None:
        state.preload_in_background()
    return demo, state


def theme():
    """The default theme with local fonts only (the stock one fetches Google Fonts; the app must work offline)."""
    import gradio as gr

    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "monospace"])


def launch(demo, settings: AppSettings, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
           block: bool = True):
    """Serve the app. Uploads above `settings.max_upload_mb` are refused by Gradio before any processing."""
    from app.layout import CSS, SEEK_JS

    return demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block,
                       max_file_size=int(settings.max_upload_mb * 1e6), show_error=False, quiet=not block,
                       ssr_mode=False, theme=theme(), css=CSS, head=SEEK_JS, footer_links=["api", "settings"])
