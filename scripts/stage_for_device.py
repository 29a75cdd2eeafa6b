"""Cut the embedded SmolLM2 GGUF and an extracted dataset into carry folders for a lent GPU machine.

    .venv/bin/python scripts/stage_for_device.py --features DATASET [--cap-mb 50]

The `device` tool copies at most 64 MiB per call (working tree included, about 15 MB here), and the GPU machine can
reach nothing outside it. So the GGUF (98 MB) and the dataset (a tar.xz) go over in pieces, one carry folder per
call: `.stage1/`, `.stage2/`, ... (ignored through .git/info/exclude). The last folder also holds the tokenizer
files as converted here and the `gguf` wheel. Each call copies its folder into /tmp/keep on that machine, and the
last one then runs scripts/demo_sweep_device.sh, which joins the pieces (`cat` in name order). The script prints
the calls. Calls must follow each other within the machine's warm window (30 s), or the pieces already sent are
lost.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "config.json")


def plan_pieces(sizes: dict[str, int], cap: int) -> list[list[tuple[str, int, int]]]:
    """Cut files (name -> size, in order) into folders of at most `cap` bytes: [[(name, offset, length), ...], ...]."""
    folders, current, room = [], [], cap
    for name, size in sizes.items():
        offset = 0
        while offset < size:
            length = min(room, size - offset)
            current.append((name, offset, length))
            offset += length
            room -= length
            if room == 0:
                folders.append(current)
                current, room = [], cap
    if current:
        folders.append(current)
    return folders


def write_pieces(files: dict[str, Path], folders: list[list[tuple[str, int, int]]], out_root: Path) -> list[Path]:
    """Write each piece as `<name>.partNN` (numbered per file, so `cat name.part*` rejoins it)."""
    counters: dict[str, int] = {}
    made = []
    for index, pieces in enumerate(folders, 1):
        folder = out_root / f".stage{index}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, offset, length in pieces:
            counters[name] = counters.get(name, 0) + 1
            with open(files[name], "rb") as src, open(folder / f"{name}.part{counters[name]:02d}", "wb") as dst:
                src.seek(offset)
                dst.write(src.read(length))
        made.append(folder)
    return made


def main(argv: list[str] | None = None) -> int:
    from limssr_core.model.backbone import smollm2_folder, smollm2_gguf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", required=True, help="an extracted dataset (dataset.json, labels.csv, features/)")
    parser.add_argument("--cap-mb", type=float, default=50.0, help="bytes per carry folder, in MB (10^6)")
    args = parser.parse_args(argv)
    features = Path(args.features)
    archive = ROOT / "build" / "features.tar.xz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:xz") as tar:
        for name in ("dataset.json", "labels.csv", "features"):
            tar.add(features / name, arcname=f"features/{name}")
    files = {"smol.gguf": smollm2_gguf()[0], "features.tar.xz": archive}
    folders = plan_pieces({name: path.stat().st_size for name, path in files.items()}, int(args.cap_mb * 1e6))
    made = write_pieces(files, folders, ROOT)
    last = made[-1]
    for name in TOKENIZER_FILES:
        shutil.copy(smollm2_folder() / name, last / name)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "-d", str(last), "gguf==0.19.0"], check=True)
    exclude = ROOT / ".git" / "info" / "exclude"
    if exclude.parent.is_dir() and "/.stage*/" not in exclude.read_text():
        with open(exclude, "a") as f:
            f.write("/.stage*/\n")
    for folder in made:
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(f"{folder.name}: {size:.1f} MB")
    print("\ndevice calls, one right after another:")
    for folder in made[:-1]:
        print(f'  run(command="mkdir -p /tmp/keep && cp {folder.name}/* /tmp/keep/", carry=["{folder.name}"])')
    routines = sum(1 for _ in open(features / "labels.csv")) - 1
    print(f'  run(command="cp {last.name}/* /tmp/keep/ && STAGE=/tmp/keep N_ROUTINES={routines} '
          f'bash scripts/demo_sweep_device.sh", carry=["{last.name}"], timeout_s=560)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
