"""Sources degrade, entries don't: a failing extra repo or search is a note, not an error.

An entry's own pinned file decides its exit code; the extra places an update rule
looks (``repos:``, ``search:``) are hints, and one that is missing or fails is skipped
with a note while the entry is still checked against its other sources. ``strict``
turns a skipped source back into a failure of the entries that use it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hubserver.releases import LORA_REPO, add_2511_lora_repo, add_2511_release
from hubserver.server import HubServer
from imagebuilder.errors import ExitCode, RepoNotFound
from imagebuilder.hub.client import Hub
from imagebuilder.hub.resolve import build_lock, resolve_entries
from imagebuilder.project.load import LoadedConfig, load_config
from imagebuilder.project.lock import Lock
from imagebuilder.updates.check import check_updates
from imagebuilder.updates.proposal import ChangeKind
from imagebuilder.updates.report import markdown

ROOT = Path(__file__).resolve().parents[2]
MISSING_REPO = "Comfy-Org/Qwen-Image-Edit"  # named by an early models.yaml; not on the Hub


@pytest.fixture
def with_missing_repo(tmp_path: Path) -> LoadedConfig:
    """The shipped stack plus an extra source that does not exist on the Hub."""
    text = (ROOT / "models.yaml").read_text()
    anchor = "      precision: fp8\n"
    assert anchor in text
    config = tmp_path / "models.yaml"
    config.write_text(text.replace(anchor, anchor + f"      repos: [{MISSING_REPO}]\n", 1))
    return load_config(config)


def lock_of(loaded: LoadedConfig, hub: Hub) -> Lock:
    return build_lock(resolve_entries(loaded.config, hub))


def test_a_missing_extra_repo_is_skipped_with_a_note(
    with_missing_repo: LoadedConfig, hub: Hub, qwen_hub: HubServer
) -> None:
    lock = lock_of(with_missing_repo, hub)
    quiet = check_updates(with_missing_repo.config, lock, hub)
    assert quiet.exit_code() is ExitCode.OK
    assert quiet.problems == ()
    [skipped] = quiet.skipped_sources
    assert skipped.source == f"{MISSING_REPO}@main"
    assert skipped.entries == ("diffusion_model",)
    assert isinstance(skipped.error, RepoNotFound)

    add_2511_release(qwen_hub)
    add_2511_lora_repo(qwen_hub)
    moved = check_updates(with_missing_repo.config, lock, hub)
    assert moved.exit_code() is ExitCode.UPDATES_AVAILABLE  # found in the other sources
    kinds = {c.entry: c.kind for c in moved.changes}
    assert kinds == {
        "diffusion_model": ChangeKind.NEWER_RELEASE,
        "lightning_lora": ChangeKind.LORA_FOR_NEW_BASE,
    }


def test_strict_makes_a_skipped_source_fatal(with_missing_repo: LoadedConfig, hub: Hub) -> None:
    lock = lock_of(with_missing_repo, hub)
    proposal = check_updates(with_missing_repo.config, lock, hub, strict=True)
    assert [p.entry for p in proposal.problems] == ["diffusion_model"]
    assert MISSING_REPO in proposal.problems[0].error.message
    assert proposal.exit_code() is ExitCode.HUB


def test_a_failing_search_is_skipped_and_the_entry_still_checked(
    shipped: LoadedConfig, hub: Hub, qwen_hub: HubServer
) -> None:
    lock = lock_of(shipped, hub)
    qwen_hub.faults.add(r"^/api/models$|^/api/models\?", status=400, times=None)
    quiet = check_updates(shipped.config, lock, hub)
    assert quiet.exit_code() is ExitCode.OK
    assert set(quiet.up_to_date) == set(shipped.config.models)
    [skipped] = quiet.skipped_sources
    assert skipped.source.startswith("search ") and skipped.entries == ("lightning_lora",)

    # The 2511 LoRA lives in a repo only the search finds: without it the base is held
    # back (a new base never moves without its LoRA), and that is still not an error.
    add_2511_release(qwen_hub)
    add_2511_lora_repo(qwen_hub)
    held = check_updates(shipped.config, lock, hub)
    assert held.problems == () and held.changes == ()
    assert held.exit_code() is ExitCode.OK
    assert any("held back" in o.why for o in held.options)

    strict = check_updates(shipped.config, lock, hub, strict=True)
    assert [p.entry for p in strict.problems] == ["lightning_lora"]
    assert "search" in strict.problems[0].error.message


def test_a_vanished_pinned_repo_fails_its_entry_only(
    shipped: LoadedConfig, hub: Hub, qwen_hub: HubServer
) -> None:
    lock = lock_of(shipped, hub)
    qwen_hub.delete_repo(LORA_REPO)
    proposal = check_updates(shipped.config, lock, hub)
    assert [p.entry for p in proposal.problems] == ["lightning_lora"]
    assert isinstance(proposal.problems[0].error, RepoNotFound)
    assert set(proposal.up_to_date) == {"diffusion_model", "text_encoder", "vae"}
    assert proposal.exit_code() is ExitCode.HUB  # the pinned file's own problem
    assert proposal.skipped_sources == ()  # the pin failed: not a source note as well


def test_markdown_never_says_up_to_date_when_a_source_was_skipped(
    shipped: LoadedConfig, hub: Hub, qwen_hub: HubServer
) -> None:
    lock = lock_of(shipped, hub)
    assert "Everything pinned is up to date." in markdown(
        check_updates(shipped.config, lock, hub), qwen_hub.url
    )
    qwen_hub.faults.add(r"^/api/models$|^/api/models\?", status=400, times=None)
    body = markdown(check_updates(shipped.config, lock, hub), qwen_hub.url)
    assert "up to date" not in body
    assert "some of it could not be" in body
    assert "### Sources that could not be read" in body and "lightning\\_lora" in body
    unlocked = markdown(check_updates(shipped.config, None, hub), qwen_hub.url)
    assert "up to date" not in unlocked and "Not in the lock yet" in unlocked
