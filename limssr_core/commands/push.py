"""`push`: publish a checkpoint to the Hugging Face Hub (its adapter, heads, config and card; never the LLM)."""

from __future__ import annotations

import argparse

NAME = "push"
HELP = "upload a checkpoint to the Hugging Face Hub (owner/name)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="checkpoint folder (a run folder is one)")
    parser.add_argument("repo_id", help="Hub repository owner/name; created if it does not exist")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--branch", help="push to this branch instead of main")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--message", default="Upload LIMSSR checkpoint", help="commit message")
    parser.add_argument("--token", help="Hub token (default: the one `hf auth login` stored, or $HF_TOKEN)")


def run(args: argparse.Namespace) -> int:
    from limssr_core.errors import LimssrError
    from limssr_core.model.limssr import LimssrModel

    model = LimssrModel.from_pretrained(args.checkpoint)
    try:
        url = model.push_to_hub(args.repo_id, private=args.private or None, branch=args.branch,
                                create_pr=args.create_pr or None, commit_message=args.message, token=args.token)
    except Exception as err:  # authentication, network, permissions: one line, not a traceback
        raise LimssrError(f"could not push to {args.repo_id}: {type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else ''}") from None
    print(f"pushed {args.checkpoint} to https://huggingface.co/{args.repo_id} ({url})")
    return 0
