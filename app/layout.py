"""The Gradio Blocks UI. Only wiring: every decision is made in app.handlers (plain functions, tested alone).

Events with an API name: `/score` (the README documents its inputs and outputs) and `/robustness`.
Errors the user can fix become `gr.Error` with the handler's message; anything unexpected is logged with its
traceback on the server and shown as a one-line `gr.Error`, never as a traceback in the page.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Callable, TypeVar

import gradio as gr

from app import catalog, competition, handlers
from app.examples import examples_note, is_current, load_examples
from app.state import BUNDLED, AppState
from limssr_core.inference.timeline import PER_MODALITY
from limssr_core.reports import figures
from limssr_core.errors import LimssrError
from limssr_core.features.formats import COMMENTARY_EXTENSIONS, VIDEO_EXTENSIONS

log = logging.getLogger("limssr.app")
T = TypeVar("T")
MAX_TOASTS = 4

INTRO = """# LIMSSR Studio
Score a judged routine from its video, its audio and a commentary, even when some of them are missing.
Upload a video, optionally a separate audio file and a commentary, then press **Score**."""

COMPETITION_INTRO = """Score a whole start list: upload the routine videos (at most {limit}) and, optionally, commentary
files named like them (`routine_07.mp4` and `routine_07.txt`). They are scored one after another with the checkpoint
selected on the *Single routine* tab, under the same limits as a single routine; the ranked table fills as each one
finishes, and a routine that cannot be scored gets its reason instead of stopping the rest."""

CSS = """
#score-headline h2 { margin: 0.2em 0; }
"""

# Page scripts (the page's <head>). Clicking a point of the timeline seeks the uploaded video to that moment: each point's customdata is its start in
# seconds (reports/figures.py timeline_figure). Gradio has no click event for plots, so a small script listens to
# plotly's own `plotly_click` on the timeline plot whenever Gradio (re)draws it.
SEEK_JS = """
<script>
(() => {
  const attach = () => {
    const plot = document.querySelector('#timeline-plot .js-plotly-plot');
    if (!plot || plot.dataset.limssrSeek === '1' || typeof plot.on !== 'function') return;
    plot.dataset.limssrSeek = '1';
    plot.on('plotly_click', (event) => {
      const point = event.points && event.points[0];
      const video = document.querySelector('#video-input video');
      if (!point || !video || typeof point.customdata !== 'number') return;
      video.currentTime = point.customdata;
      video.dataset.limssrSeekedTo = String(point.customdata);
    });
  };
  new MutationObserver(attach).observe(document.documentElement, {childList: true, subtree: true});
})();
// An upload the browser cannot play (.avi, .mpg, ...) would raise Gradio's red "Video not playable" toast before the
// server swaps in its converted preview (app/preview.py) or says that only the preview is affected. The server
// checks every upload, so the player's error is stopped on its way down (capture phase) for uploads; a failing
// preview still reports.
document.addEventListener('error', (event) => {
  const target = event.target;
  if (!(target instanceof HTMLVideoElement) || !target.closest('#video-input')) return;
  if (/preview-[0-9a-f]{32}[.]mp4/.test(target.currentSrc || target.src || '')) return;
  event.stopPropagation();
}, true);
</script>
"""


def guarded(call: Callable[[], T]) -> T:
    """Run a handler; LimssrError -> gr.Error(message); anything else -> logged, generic gr.Error."""
    try:
        return call()
    except gr.Error:
        raise
    except LimssrError as err:
        raise gr.Error(str(err), title="Cannot score this input", print_exception=False) from None
    except Exception as err:  # a bug or an environment problem: the log gets the traceback, the page one line
        log.exception("unexpected error while handling a request")
        raise gr.Error(f"internal error ({type(err).__name__}); the server log has the details. "
                       "Please report it with the input that caused it.", print_exception=False) from None


def _warn(messages: list[str]) -> None:
    for message in messages[:MAX_TOASTS]:
        gr.Warning(message)
    if len(messages) > MAX_TOASTS:
        gr.Warning(f"{len(messages) - MAX_TOASTS} more warnings are listed in the JSON output")


def _request(video, audio, commentary_text, commentary_file, transcribe, checkpoint, withhold
             ) -> handlers.ScoreRequest:
    return handlers.ScoreRequest(video=video, audio=audio, commentary_text=commentary_text or None,
                                 commentary_file=commentary_file, transcribe=bool(transcribe),
                                 checkpoint=checkpoint or BUNDLED, withhold=tuple(withhold or ()))


def _initial_modalities(state: AppState) -> list[str]:
    """The default checkpoint's modalities (the withhold choices API clients are validated against)."""
    from limssr_core.features import DEFAULT_MODALITIES

    try:
        return list(state.registry.config(state.settings.checkpoint)[0].modality_names)
    except LimssrError:
        return list(DEFAULT_MODALITIES)


def build_demo(state: AppState, startup_problem: str | None = None) -> gr.Blocks:
    """The whole page. `startup_problem` (e.g. a missing default checkpoint) is shown as a banner."""
    from limssr_core.features.whisper import whisper_available

    settings = state.settings
    can_transcribe = whisper_available()

    def run(handler, progress, *inputs) -> handlers.ScoreResult:
        """One scoring handler on the page's inputs: user errors become gr.Error, warnings become toasts."""
        request = _request(*inputs)
        result = guarded(lambda: handler(request, state, lambda f, d: progress(f, desc=d)))
        _warn(result.warnings)
        return result

    # Defaults of None make every input but the video optional for API clients (Gradio reads the signature).
    def on_score(video, audio=None, commentary_text=None, commentary_file=None, transcribe=False, checkpoint=None,
                 withhold=None, progress=gr.Progress()):
        result = run(handlers.score_routine, progress, video, audio, commentary_text, commentary_file, transcribe,
                     checkpoint, withhold)
        return (result.headline, result.panel, figures.weights_figure(result.payload), result.payload, result.note,
                report(result))

    def on_example(video, commentary, progress=gr.Progress()):
        """An example routine: Score's outputs but the report (Gradio cannot cache a DownloadButton's update; Score
        on the filled-in inputs gives the report, from the cached features)."""
        return on_score(video, commentary_file=commentary, progress=progress)[:-1]

    def on_robustness(video, audio=None, commentary_text=None, commentary_file=None, transcribe=False,
                      checkpoint=None, withhold=None, progress=gr.Progress()):
        result = run(handlers.robustness, progress, video, audio, commentary_text, commentary_file, transcribe,
                     checkpoint, withhold)
        return (result.headline, result.panel, figures.weights_figure(result.payload),
                gr.update(value=figures.robustness_figure(result.payload), visible=True), result.payload, result.note,
                report(result))

    def on_timeline(video, audio=None, commentary_text=None, commentary_file=None, transcribe=False,
                    checkpoint=None, withhold=None, per_modality=PER_MODALITY, progress=gr.Progress()):
        result = run(partial(handlers.timeline, per_modality=bool(per_modality)), progress, video, audio,
                     commentary_text, commentary_file, transcribe, checkpoint, withhold)
        sentences = ("**Commentary (plain text, not timed):**\n\n" + "\n".join(
            f"{i}. {text}" for i, text in enumerate(result.sentences[:40], 1))) if result.sentences else ""
        return (result.headline, result.panel, figures.weights_figure(result.payload),
                gr.update(value=figures.timeline_figure(result.payload, result.cues), visible=True),
                gr.update(value="**Top moments**\n\n" + result.moments + ("\n\n" + sentences if sentences else ""),
                          visible=True),
                result.payload, result.note, report(result))

    def on_competition(videos, commentaries=None, checkpoint=None, progress=gr.Progress()):
        entries, warnings = guarded(lambda: competition.match_uploads(videos, commentaries, settings.max_routines))
        _warn(warnings)
        updates = competition.run_competition(entries, state, checkpoint or settings.checkpoint,
                                              lambda f, d: progress(f, desc=d))
        for update in updates:  # every routine's problem is its row's error (app/competition.py)
            done = update.csv is not None
            yield (update.status, update.table, gr.update(value=update.csv, visible=done),
                   gr.update(value=update.json, visible=done))

    def on_video_upload(video):
        """A video the browser cannot play: show a converted preview instead (scoring reads the upload)."""
        preview = guarded(lambda: handlers.video_preview(video, state))
        if preview.message:
            (gr.Info if preview.path else gr.Warning)(preview.message)
        return gr.update(value=preview.path) if preview.path else gr.update()

    def report(result):
        path = guarded(lambda: handlers.report_file(result, state))
        return gr.update(value=path, visible=True)

    def on_checkpoint(checkpoint):
        try:
            info = handlers.checkpoint_overview(checkpoint, state)
        except LimssrError as err:
            gr.Warning(str(err))
            return (f"**{err}**", gr.update(choices=[], value=[]), "", "")
        return (info["panel"], gr.update(choices=info["modalities"], value=[]), info["note"], info["summary"])

    def on_load(checkpoint):
        """A page (re)load: the selector lists the checkpoints offered now (the operator may have added some)."""
        return (gr.update(choices=catalog.names(settings)), *on_checkpoint(checkpoint))

    # uploads and outputs older than 2 h are deleted every hour (a long-running Space must not fill its disk)
    with gr.Blocks(title="LIMSSR Studio", analytics_enabled=False, delete_cache=(3600, 7200)) as demo:
        gr.Markdown(INTRO)
        if startup_problem:
            gr.Markdown(f"> **Warning:** {startup_problem}", elem_id="startup-problem")
        with gr.Tab("Single routine", elem_id="single-tab"):
            with gr.Row():
                with gr.Column(scale=5):
                    video = gr.Video(label="Routine video", sources=["upload"], elem_id="video-input")
                    audio = gr.Audio(label="Separate audio (optional: replaces the video's track, or adds one)",
                                     sources=["upload"], type="filepath", elem_id="audio-input")
                    with gr.Accordion("Commentary (optional)", open=False):
                        commentary_text = gr.Textbox(label="Commentary text", lines=4,
                                                     placeholder="One sentence per line, or timed lines like "
                                                                 "'01:05 Clean triple lutz.'")
                        commentary_file = gr.File(label="... or a .txt / .srt file", file_types=list(COMMENTARY_EXTENSIONS),
                                                  type="filepath")
                        transcribe = gr.Checkbox(
                            label="Transcribe the audio (Whisper tiny.en) when no commentary is given",
                            value=False, interactive=can_transcribe,
                            info=None if can_transcribe else "needs the optional Whisper packages (see README)")
                    # Custom values reach the catalog, which refuses all it does not offer with one message (a
                    # value typed into the box and one sent through the API get the same answer).
                    checkpoint = gr.Dropdown(label="Checkpoint", choices=catalog.names(settings),
                                             value=catalog.default_name(settings), allow_custom_value=True,
                                             elem_id="checkpoint")
                    summary = gr.Markdown()
                    with gr.Row():
                        score_btn = gr.Button("Score", variant="primary", elem_id="score-button")
                        robust_btn = gr.Button("Robustness: every modality subset", elem_id="robustness-button")
                    with gr.Row():
                        timeline_btn = gr.Button("Timeline: where in the routine the score came from",
                                                 elem_id="timeline-button", scale=3)
                        per_modality = gr.Checkbox(label="a line per modality (2-3x slower)", value=PER_MODALITY,
                                                   elem_id="timeline-per-modality", scale=2)
                    timeline_plot = gr.Plot(label="Timeline (click a point to seek the video there)", visible=False,
                                            elem_id="timeline-plot")
                    moments = gr.Markdown(visible=False, elem_id="timeline-moments")
                    examples_box = gr.Column(elem_id="examples")
                with gr.Column(scale=7):
                    headline = gr.Markdown("Upload a routine and press **Score**.", elem_id="score-headline")
                    gr.Markdown("### Modalities")
                    panel = gr.Markdown(elem_id="modality-panel")
                    withhold = gr.CheckboxGroup(
                        label="Withhold a present modality (\"what if the audio were missing?\"), then score again",
                        choices=_initial_modalities(state), value=[], elem_id="withhold")
                    weights_plot = gr.Plot(label="MDA path weights", elem_id="weights-plot")
                    gr.Markdown(figures.WEIGHTS_EXPLAINED, elem_id="weights-explained")
                    robust_plot = gr.Plot(label="Robustness", visible=False, elem_id="robustness-plot")
                    note = gr.Markdown(elem_id="score-note")
                    report_btn = gr.DownloadButton("Download the report (HTML)", visible=False, elem_id="report-download")
                    with gr.Accordion("JSON: the same numbers, for programmatic use", open=False):
                        result_json = gr.JSON(label="result", elem_id="result-json")

        with gr.Tab("Competition", elem_id="competition-tab"):
            gr.Markdown(COMPETITION_INTRO.format(limit=settings.max_routines))
            with gr.Row():
                comp_videos = gr.File(label="Routine videos", file_count="multiple", file_types=list(VIDEO_EXTENSIONS),
                                      type="filepath", elem_id="competition-videos")
                comp_commentary = gr.File(label="Commentary files (optional, named like their videos)",
                                          file_count="multiple", file_types=list(COMMENTARY_EXTENSIONS),
                                          type="filepath", elem_id="competition-commentary")
            comp_btn = gr.Button("Score the competition", variant="primary", elem_id="competition-button")
            comp_status = gr.Markdown(elem_id="competition-status")
            comp_table = gr.Dataframe(headers=competition.TABLE_COLUMNS, interactive=False, wrap=True,
                                      elem_id="competition-table")
            with gr.Row():
                comp_csv = gr.DownloadButton("Download CSV", visible=False, elem_id="competition-csv")
                comp_json = gr.DownloadButton("Download JSON", visible=False, elem_id="competition-json")
        inputs = [video, audio, commentary_text, commentary_file, transcribe, checkpoint, withhold]
        score_outputs = [headline, panel, weights_plot, result_json, note, report_btn]
        hidden = [gr.update(value=None, visible=False)] * 3  # a new score: the old charts are stale
        bundled_ready = settings.checkpoint == BUNDLED and (catalog.BUNDLED_PATH / "limssr_config.json").is_file()
        record = load_examples() if bundled_ready else None
        if record and record.examples:  # their stored results are the bundled checkpoint's, so only beside it
            with examples_box:
                rows = [[ex.video.as_posix(), ex.commentary.as_posix() if ex.commentary else None]
                        for ex in record.examples]
                examples = gr.Examples(rows, [video, commentary_file], score_outputs[:-1], fn=on_example,
                                       cache_examples=True, cache_mode="lazy", label="Example routines",
                                       example_labels=[ex.label for ex in record.examples])
                gr.Markdown(examples_note(record, is_current(record)), elem_id="examples-note")
            examples.dataset.click(lambda: [*hidden, gr.update(visible=False)], None,
                                   [robust_plot, timeline_plot, moments, report_btn], queue=False,
                                   api_visibility="private", show_progress="hidden")
        # /score and /robustness share one concurrency slot pool: at most settings.concurrency extractions at once
        heavy = dict(concurrency_limit=settings.concurrency, concurrency_id="scoring")
        score_btn.click(on_score, inputs, score_outputs, api_name="score",
                        api_description="Score a routine video; every input but the video is optional.", **heavy)
        score_btn.click(lambda: hidden, None, [robust_plot, timeline_plot, moments], queue=False,
                        api_visibility="private", show_progress="hidden")
        robust_btn.click(on_robustness, inputs, [headline, panel, weights_plot, robust_plot, result_json, note,
                                                 report_btn], api_name="robustness", **heavy)
        timeline_btn.click(on_timeline, [*inputs, per_modality], [headline, panel, weights_plot, timeline_plot, moments,
                                                                  result_json, note, report_btn], api_name="timeline",
                           api_description="Score with the occlusion timeline (on the cached features).", **heavy)
        video.upload(on_video_upload, [video], [video], concurrency_limit=1, concurrency_id="preview",
                     api_visibility="private", show_progress="full")
        comp_btn.click(on_competition, [comp_videos, comp_commentary, checkpoint],
                       [comp_status, comp_table, comp_csv, comp_json], api_name="competition",
                       api_description="Score several routine videos into one ranked table.", **heavy)
        # checkpoint lookups go through the queue too (its size limit applies), in their own small slot pool
        lookup = dict(concurrency_limit=2, concurrency_id="lookup", api_visibility="undocumented")
        checkpoint.change(on_checkpoint, [checkpoint], [panel, withhold, note, summary], **lookup)
        demo.load(on_load, [checkpoint], [checkpoint, panel, withhold, note, summary], **lookup)
    demo.queue(max_size=settings.queue_size, default_concurrency_limit=settings.concurrency)
    return demo
