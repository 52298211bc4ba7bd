"""Talking to the hub: endpoint, token, a repository's files, refusals as sentences.

`HF_ENDPOINT` (a mirror, or a local server in the tests) is read on every call, not
once at import as `huggingface_hub.constants` does. The token comes from an
environment variable the caller names (``HF_TOKEN`` unless told otherwise) and is
never written anywhere; with none set, `huggingface_hub` falls back to the login
saved by ``hf auth login``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import httpx2
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import BlobLfsInfo
from huggingface_hub.utils import validate_repo_id  # type: ignore[attr-defined]

from app.downloads.plan import (
    DEFAULT_TOKEN_ENV,
    DownloadError,
    DownloadPlan,
    RepoFile,
    default_target,
    split_unused,
)

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"


def endpoint() -> str:
    """The hub to download from: ``$HF_ENDPOINT``, else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def token_from_env(name: str = DEFAULT_TOKEN_ENV) -> str | None:
    """The access token in the environment variable `name`, if set (never stored)."""
    return os.environ.get(name) or None


def licence_url(repo_id: str, hub: str | None = None) -> str:
    """The repository's page, where a gated model's licence is accepted."""
    return f"{hub or endpoint()}/{repo_id}"


def describe_error(
    exc: BaseException, repo_id: str, revision: str, token_env: str = DEFAULT_TOKEN_ENV
) -> DownloadError:
    """The sentence for a refusal or failure of the hub (the traceback goes to the log)."""
    hub = endpoint()
    has_token = token_from_env(token_env) is not None
    response = getattr(exc, "response", None)
    status: int | None = getattr(response, "status_code", None)
    if isinstance(exc, GatedRepoError):
        if has_token and status == 403:
            head = f"The token in {token_env} has no access to {repo_id} yet."
        else:
            head = (
                f"{repo_id} is gated: it needs an access token of an account that accepted "
                "its licence."
            )
        return DownloadError(
            f"{head} Accept the licence at {licence_url(repo_id, hub)} (signed in), put a token "
            f"of that account in the environment variable {token_env} ({hub}/settings/tokens) "
            "and start the download again."
        )
    if isinstance(exc, RevisionNotFoundError):
        return DownloadError(
            f"{repo_id} has no revision {revision!r}: check the branch, tag or commit."
        )
    if isinstance(exc, RepositoryNotFoundError):
        return DownloadError(
            f"There is no repository {repo_id} on {hub}, or it is private. Check the id "
            f"(owner/name); for a private one, put an access token in {token_env}."
        )
    if isinstance(exc, RemoteEntryNotFoundError):
        return DownloadError(f"A file of {repo_id} is gone from the hub: read the file list again.")
    if isinstance(exc, HfHubHTTPError) and status == 401 and has_token:
        return DownloadError(
            f"The hub refused the token in {token_env} (401): it is wrong or revoked. Make a "
            f"new one at {hub}/settings/tokens and put it in {token_env}."
        )
    if isinstance(exc, HfHubHTTPError):
        return DownloadError(
            f"The hub at {hub} refused ({status or 'no'} answer): {_first_line(exc)}"
        )
    if isinstance(exc, httpx2.HTTPError | ConnectionError | TimeoutError):
        return DownloadError(
            f"Cannot reach {hub} ({_first_line(exc).rstrip('.')}). Check the network connection "
            "(or HF_ENDPOINT) and try again; what was downloaded is kept."
        )
    return DownloadError(f"The download of {repo_id} failed: {_first_line(exc)}")


def read_plan(
    repo_id: str,
    revision: str = "main",
    target: Path | None = None,
    token_env: str = DEFAULT_TOKEN_ENV,
    all_files: bool = False,
) -> DownloadPlan:
    """Read the repository's files, sizes and checksums, and check that it may be downloaded.

    Nothing is written. Files the app never loads (`plan.UNUSED_PATTERNS`) are left out
    unless `all_files`. Raises `DownloadError` with a sentence for a bad id, a missing
    or gated repository, an unreachable hub.
    """
    repo_id = repo_id.strip()
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise DownloadError(
            f"{repo_id!r} is not a repository id: write it as owner/name, for example "
            "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8."
        ) from None
    if "/" not in repo_id:
        raise DownloadError(f"{repo_id!r} lacks its owner: write it as owner/name.")
    hub = endpoint()
    token = token_from_env(token_env)
    try:
        info = HfApi(endpoint=hub, token=token).model_info(
            repo_id, revision=revision, files_metadata=True
        )
        siblings = info.siblings or []
        listed = [_repo_file(s.rfilename, s.size, s.lfs, s.blob_id) for s in siblings]
        files, skipped = (listed, []) if all_files else split_unused(listed)
        if not files:
            raise DownloadError(f"{repo_id} at {revision} holds no files the app can load.")
        commit = info.sha or revision
        # Gated repositories show their file list to anyone; the files themselves need the
        # licence accepted. Ask for the smallest one now, before anything is written.
        smallest = min(files, key=lambda f: f.size)
        get_hf_file_metadata(
            hf_hub_url(repo_id, smallest.name, revision=commit, endpoint=hub), token=token
        )
    except DownloadError:
        raise
    except Exception as exc:  # noqa: BLE001 (every failure becomes a sentence; traceback logged)
        log.warning("reading %s@%s from %s failed", repo_id, revision, hub, exc_info=True)
        raise describe_error(exc, repo_id, revision, token_env) from exc
    ordered = tuple(sorted(files, key=lambda f: (f.size, f.name)))  # small files first
    return DownloadPlan(
        repo_id=repo_id,
        revision=revision,
        commit=commit,
        files=ordered,
        target=(target or default_target(repo_id)).expanduser().resolve(),
        endpoint=hub,
        gated=bool(info.gated),
        skipped=tuple(skipped),
    )


def _repo_file(
    name: str, size: int | None, lfs: BlobLfsInfo | None, blob_id: str | None
) -> RepoFile:
    if lfs is not None:
        return RepoFile(name, int(lfs.size), lfs.sha256, None)
    if size is None:
        raise DownloadError(f"The hub gave no size for {name}; cannot check it after download.")
    return RepoFile(name, int(size), None, blob_id)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip() and "Client Error" not in line]
    return (lines[0] if lines else text or type(exc).__name__).rstrip(".") + "."
