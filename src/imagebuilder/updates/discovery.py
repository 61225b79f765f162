"""Where check-updates looks: one listing per repo, all repos concurrently (bounded).

Round one asks, at once, for every pinned repo at its revision, every repo an update
rule names, and every model search a rule configures; round two lists the repos the
searches found, while round one's listings may still be in flight. Requests grow with
the number of distinct repos, never with the number of files in them.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from imagebuilder.errors import ImageBuilderError
from imagebuilder.hub.client import Hub, RemoteFile, RepoSnapshot
from imagebuilder.hub.resolve import MAX_CONCURRENT_HUB_CALLS, snapshot_or_error
from imagebuilder.project.config import Config, ModelEntry, RepoSearch
from imagebuilder.project.values import check_repo_id

MAX_REPOS_PER_SEARCH = 20  # a search is a hint; never let it fan out without bound
CANDIDATE_REVISION = "main"  # repos found by rules and searches are read at their main branch

Source = tuple[str, str]  # (repo, revision)


@dataclass(frozen=True)
class Listings:
    snapshots: dict[Source, RepoSnapshot | ImageBuilderError]
    searches: dict[RepoSearch, list[str] | ImageBuilderError] = field(default_factory=dict)

    def candidate_sources(self, entry: ModelEntry) -> list[Source]:
        """The entry's own repo first, then the rule's repos, then what its searches found."""
        sources = [(entry.repo, entry.revision)]
        rule = entry.updates
        if rule is not None:
            sources += [(repo, CANDIDATE_REVISION) for repo in rule.repos]
            for search in rule.search:
                found = self.searches.get(search)
                if isinstance(found, list):
                    sources += [(repo, CANDIDATE_REVISION) for repo in found]
        return list(dict.fromkeys(sources))

    def all_files(self) -> list[RemoteFile]:
        """Every file of every repo read (pinned, configured and searched), once per
        canonical repo: where alternatives of a base are looked for."""
        files: list[RemoteFile] = []
        seen: set[str] = set()
        for snapshot in self.snapshots.values():
            if isinstance(snapshot, ImageBuilderError) or snapshot.repo.lower() in seen:
                continue
            seen.add(snapshot.repo.lower())
            files.extend(f for f in snapshot.files.values() if f.sha256 is not None)
        return files

    def candidate_files(
        self, entry: ModelEntry
    ) -> tuple[list[RemoteFile], list[tuple[str, ImageBuilderError]]]:
        """Every file of the candidate repos, once per canonical repo; failures by source.

        A renamed repo answers under its new id, so two sources can be one repo: the
        first one seen (the entry's own) wins.
        """
        files: list[RemoteFile] = []
        failures: list[tuple[str, ImageBuilderError]] = []
        seen: set[str] = set()
        rule = entry.updates
        for search in rule.search if rule else ():
            found = self.searches.get(search)
            if isinstance(found, ImageBuilderError):
                failures.append((f"search {search.author}/{search.search}", found))
        for source in self.candidate_sources(entry):
            snapshot = self.snapshots.get(source)
            if isinstance(snapshot, ImageBuilderError):
                failures.append((f"{source[0]}@{source[1]}", snapshot))
                continue
            if snapshot is None or snapshot.repo.lower() in seen:
                continue
            seen.add(snapshot.repo.lower())
            files.extend(f for f in snapshot.files.values() if f.sha256 is not None)
        return files, failures


def _search(hub: Hub, search: RepoSearch) -> list[str] | ImageBuilderError:
    try:
        found = hub.search_models(search.author, search.search)
    except ImageBuilderError as error:
        return error
    # Search results are Hub answers: an id that is not "owner/name" never becomes a URL.
    return sorted(filter(_valid_repo_id, found))[:MAX_REPOS_PER_SEARCH]


def _valid_repo_id(value: object) -> bool:
    try:
        return isinstance(value, str) and bool(check_repo_id(value))
    except ValueError:
        return False


def gather_listings(
    config: Config, hub: Hub, *, max_workers: int = MAX_CONCURRENT_HUB_CALLS
) -> Listings:
    first: list[Source] = [(e.repo, e.revision) for e in config.models.values()]
    searches: list[RepoSearch] = []
    for entry in config.models.values():
        if entry.updates is not None:
            first += [(repo, CANDIDATE_REVISION) for repo in entry.updates.repos]
            searches += list(entry.updates.search)

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        snapshot_futures: dict[Source, Future[RepoSnapshot | ImageBuilderError]] = {
            source: pool.submit(snapshot_or_error, hub, source) for source in dict.fromkeys(first)
        }
        search_futures = {s: pool.submit(_search, hub, s) for s in dict.fromkeys(searches)}
        found_by_search = {search: future.result() for search, future in search_futures.items()}
        for result in found_by_search.values():
            for repo in result if isinstance(result, list) else []:
                source = (repo, CANDIDATE_REVISION)
                if source not in snapshot_futures:
                    snapshot_futures[source] = pool.submit(snapshot_or_error, hub, source)
        snapshots = {source: future.result() for source, future in snapshot_futures.items()}
    return Listings(snapshots=snapshots, searches=found_by_search)
