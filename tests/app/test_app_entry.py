"""app.py's flags and environment, start-up without a checkpoint, and where checkpoints and the backbone come from."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import app as app_pkg
from app import catalog
from app.state import AppSettings
from limssr_core.errors import LimssrError

REPO = Path(__file__).resolve().parents[2]
# app.py shares its name with the app/ package: load the entry point from its file
_spec = importlib.util.spec_from_file_location("app_entry", REPO / "app.py")
app_entry = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(app_entry)


def test_flags_override_environment_which_overrides_defaults(monkeypatch):
    for key in ("LIMSSR_HOST", "LIMSSR_PORT", "LIMSSR_CHECKPOINT", "LIMSSR_MAX_UPLOAD_MB", "GRADIO_SERVER_NAME",
                "GRADIO_SERVER_PORT", "LIMSSR_SHARE", "LIMSSR_DEVICE"):
        monkeypatch.delenv(key, raising=False)
    args = app_entry.parse_args([])
    assert (args.host, args.port, args.checkpoint, args.share, args.device) == ("127.0.0.1", 7860, "bundled",
                                                                                False, "cpu")
    monkeypatch.setenv("LIMSSR_CHECKPOINT", "someone/limssr-tes")
    monkeypatch.setenv("LIMSSR_MAX_UPLOAD_MB", "20")
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")  # what a Hugging Face Space sets
    args = app_entry.parse_args(["--port", "9000"])
    assert (args.checkpoint, args.max_upload_mb, args.host, args.port) == ("someone/limssr-tes", 20.0, "0.0.0.0",
                                                                           9000)
    assert app_entry.parse_args(["--checkpoint", "runs/x"]).checkpoint == "runs/x"


def test_a_missing_explicit_checkpoint_stops_with_a_message_not_a_traceback(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "app.py"), "--checkpoint", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2
    assert "no such checkpoint folder" in proc.stderr and "Traceback" not in proc.stderr


def test_a_missing_bundled_checkpoint_is_announced_on_the_page(monkeypatch, tmp_path):
    monkeypatch.setattr(catalog, "BUNDLED_PATH", tmp_path / "demo_checkpoint")
    settings = AppSettings(preload=False)
    problem = app_pkg.check_checkpoint(settings)
    assert "bundled demo checkpoint" in problem and "is missing" in problem
    demo, _ = app_pkg.create_app(settings, startup_problem=problem)
    banners = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "startup-problem"]
    assert banners and "is missing" in banners[0].value


def _package_gguf() -> Path:
    from limssr_core.model.backbone import smollm2_gguf

    return smollm2_gguf()[0]


def test_hub_backbone_file_must_be_the_embedded_one(monkeypatch, tmp_path):
    import huggingface_hub

    wrong = tmp_path / "model.gguf"
    wrong.write_bytes(b"GGUF but not the one")
    from limssr_core.model import backbone

    monkeypatch.setattr(backbone, "has_package", lambda name: False)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: str(wrong))
    with pytest.raises(LimssrError, match="refusing it"):
        backbone.smollm2_gguf()


@pytest.mark.slow
def test_backbone_from_the_hub_matches_the_embedded_identity(monkeypatch, tmp_path):
    """Without the package (a Space), the Hub's copy of the GGUF gives the backbone the checkpoint recorded."""
    import huggingface_hub

    from limssr_core.model import backbone
    from limssr_core.model.backbone import SMOLLM2, load_backbone

    embedded = load_backbone(SMOLLM2).identity  # from the package (default cache)
    gguf = _package_gguf()
    requested = []

    def fake_hub(repo_id, filename, revision=None):
        requested.append((repo_id, filename, revision))
        return str(gguf)  # the Hub serves byte-for-byte the packaged file

    monkeypatch.setenv("LIMSSR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(backbone, "has_package", lambda name: False)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_hub)
    backbone.smollm2_folder()
    assert requested == [(backbone.SMOLLM2_HUB_REPO, gguf.name, backbone.SMOLLM2_HUB_REVISION)]
    assert (tmp_path / "cache" / "backbones" / "smollm2-135m-instruct" / "model.safetensors").is_file()
    from_hub = load_backbone(SMOLLM2).identity
    assert from_hub["fingerprint"] == embedded["fingerprint"]
