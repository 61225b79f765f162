"""render-workflows, check-workflows, cost and import-template."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    make_hub,
    parse_steps,
)

if TYPE_CHECKING:
    from imagebuilder.comfy.node_schema import NodeSchema
    from imagebuilder.project.config import Config
    from imagebuilder.project.engine import EngineLock

VariantOption = Annotated[
    str | None, typer.Option("--variant", help="Render for this variant (default: each one).")
]


def render_workflows(
    config: ConfigOption = DEFAULT_CONFIG,
    out: Annotated[Path, typer.Option("--out", help="Folder for the rendered workflows.")] = Path(
        "build/workflows"
    ),
    variant: VariantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render workflows/*.json with the pinned files and sampler settings (plus index.json)."""
    from imagebuilder.comfy.project import write_workflows
    from imagebuilder.project.load import load_config

    result = write_workflows(load_config(config).config, config, out, variant)
    output.warn_each(w.render() for w in result.warnings)

    def human() -> None:
        for paths in result.written.values():
            for path in paths:
                output.stdout.print(path, markup=False)

    output.emit({"written": result.written}, as_json, human)


def locked_engine(config_path: Path, loaded: Config) -> EngineLock | None:
    """The engine the lock records, when models.yaml pins one (else None)."""
    from imagebuilder.project.lock import load_lock, lock_path_for

    if loaded.image.comfyui is None:
        return None
    lock = load_lock(lock_path_for(config_path))
    return lock.engine if lock is not None else None


def check_workflows(
    config: ConfigOption = DEFAULT_CONFIG,
    object_info: Annotated[
        Path | None,
        typer.Option(
            "--object-info",
            help="Check against this /object_info snapshot instead of "
            "workflows/schema/object_info.json.",
        ),
    ] = None,
    refresh_object_info: Annotated[
        str | None,
        typer.Option(
            "--refresh-object-info",
            metavar="URL",
            help="First fetch the node schema from a running ComfyUI (e.g. "
            "http://127.0.0.1:8188) into workflows/schema/object_info.json.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check every workflow, as every variant renders it, against the pinned stack and
    ComfyUI's node schema (offline, from the project's snapshot)."""
    from imagebuilder.comfy.checks import Severity, check_stack_workflows
    from imagebuilder.comfy.engine_schema import (
        require_snapshot_of,
        schema_for_engine,
        versioned_snapshot,
    )
    from imagebuilder.comfy.object_info import (
        fetch_snapshot,
        load_snapshot,
        snapshot_path,
        write_snapshot,
    )
    from imagebuilder.comfy.project import templates_dir_for
    from imagebuilder.errors import ExitCode, WorkflowError
    from imagebuilder.project.load import load_config

    templates = templates_dir_for(config)
    loaded = load_config(config).config
    engine = locked_engine(config, loaded)
    snapshot = object_info or snapshot_path(templates)
    if refresh_object_info:
        document = fetch_snapshot(refresh_object_info)
        served = document["comfyui"].get("version")
        if engine is not None and isinstance(served, str):
            snapshot = object_info or versioned_snapshot(templates, served)
            if served != engine.comfyui_version:
                output.warn(
                    f"the worker at {output.printable(refresh_object_info)} runs ComfyUI "
                    f"{output.printable(served)}, the locked engine is {engine.label}: it is "
                    "not running this image"
                )
        write_snapshot(snapshot, document)
        output.log(f"wrote {snapshot} from {output.printable(refresh_object_info)}")
    if engine is not None and object_info is not None:
        require_snapshot_of(object_info, engine.comfyui_version, engine.label)
    schema: NodeSchema | None
    if engine is not None and object_info is None:
        schema, snapshot = schema_for_engine(templates, engine.comfyui_version, engine.label)
    else:
        schema = load_snapshot(snapshot)
    if schema is None and object_info is not None:
        raise WorkflowError("no such snapshot file", location=str(object_info))
    problems = check_stack_workflows(loaded, templates, schema)

    def human() -> None:
        for problem in problems:
            output.stdout.print(f"{problem.severity.value}: {problem.render()}", markup=False)
        if not problems:
            against = f" and ComfyUI {schema.comfyui}'s node schema" if schema else ""
            output.stdout.print(f"workflows: consistent with models.yaml{against}")

    result = {
        "problems": [p.as_dict() for p in problems],
        "object_info": {"path": str(snapshot), "comfyui": schema.comfyui} if schema else None,
    }
    output.emit(result, as_json, human)
    if any(p.severity is Severity.ERROR for p in problems):
        raise typer.Exit(code=int(ExitCode.WORKFLOW))


def cost(  # noqa: PLR0917 (a CLI command: one parameter per option)
    config: ConfigOption = DEFAULT_CONFIG,
    measurements: Annotated[
        Path | None,
        typer.Option("--measurements", help="YAML/JSON with cost fields; overrides models.yaml."),
    ] = None,
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps",
            help="What-if step counts instead of the variants, e.g. 4,3,2 (the default when "
            "models.yaml declares no variants: the pinned steps, 3/4 and 1/2 of them).",
        ),
    ] = None,
    jobs_per_worker: Annotated[
        int | None,
        typer.Option(
            "--jobs-per-worker",
            min=1,
            help="Jobs a warm worker serves before it stops (spreads the cold start).",
        ),
    ] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Seconds and dollars per job for each variant and workflow, the saving against the
    baseline, and a cold worker's start spread over its jobs."""
    from imagebuilder.cli._cost_table import cost_markdown
    from imagebuilder.comfy.cost import arms_from_config, compute, load_inputs
    from imagebuilder.project.load import load_config

    what_if = parse_steps(steps)
    loaded = load_config(config)
    inputs = load_inputs(loaded.config, measurements, loaded.where(("cost",)))
    if jobs_per_worker is not None:
        inputs = inputs.model_copy(update={"jobs_per_worker": jobs_per_worker})
    report = compute(arms_from_config(loaded.config, what_if), inputs)
    if markdown and not as_json:
        output.stdout.out(cost_markdown(report), end="")
        return

    def human() -> None:
        from imagebuilder.cli._cost_table import render

        width = shutil.get_terminal_size().columns
        output.stdout.out(output.printable(render(report, width)), end="", highlight=False)
        for note in report.notes:
            output.note(note)

    output.emit(report.as_dict(), as_json, human)


def _read_workflow_source(source: str) -> tuple[Any, str, str]:
    """(document, file name, where) of a local workflow file or a workflow on the Hub
    (a pasted URL, or owner/name/path@revision when no such local file exists)."""
    from pathlib import PurePosixPath

    from imagebuilder.comfy.template_models import (
        MAX_WORKFLOW_BYTES,
        parse_workflow,
        read_workflow,
    )
    from imagebuilder.hub.failures import repo_ids_from
    from imagebuilder.project.huburls import looks_like_url
    from imagebuilder.weights.targets import TargetSyntaxError, hub_file

    local = Path(source)
    on_disk = local.exists() or local.is_absolute() or source.startswith(".")
    if not looks_like_url(source) and (on_disk or source.count("/") < 2):
        return read_workflow(local), local.name, source
    try:
        found = hub_file(source, model=False)
    except TargetSyntaxError as error:
        raise typer.BadParameter(str(error), param_hint="FILE") from None
    where = f"{found.repo}@{found.revision}/{found.path}"
    with repo_ids_from("given on the command line"):
        hub = make_hub()
        data = hub.read_small_file(found.repo, found.path, found.revision, MAX_WORKFLOW_BYTES)
    return parse_workflow(data, where), PurePosixPath(found.path).name, where


def import_template(
    file: Annotated[
        str,
        typer.Argument(
            help="A ComfyUI workflow (UI or API format): a file, its Hub URL, or "
            "owner/name/path@revision.",
            show_default=False,
        ),
    ],
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            help="Write a project folder (models.yaml, the workflow in API format with "
            "placeholders, its node schema) instead of printing the entries.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the models.yaml entries a ComfyUI workflow needs (repo, file, folder, role)."""
    from imagebuilder.comfy.import_template import import_workflow, imported_yaml
    from imagebuilder.errors import WorkflowError
    from imagebuilder.updates.known_rules import update_rules

    document, name, where = _read_workflow_source(file)
    result = import_workflow(document, name, update_rules)
    if not result.entries:
        found = f"none of its {len(result.skipped)} model files can be imported: " + "; ".join(
            result.skipped
        )
        raise WorkflowError(
            found if result.skipped else "no model files found to import",
            location=where,
            hint="import-template reads model loaders (UNETLoader, CLIPLoader, VAELoader, "
            "LoraLoaderModelOnly, ...) and the models list the official templates carry",
        )
    if project is not None:
        _write_imported_project(project, result, document, as_json)
        return
    if as_json:
        output.emit_json(result.as_dict())
        return
    output.stdout.out(imported_yaml(result), end="")


def _write_imported_project(folder: Path, result: Any, document: Any, as_json: bool) -> None:
    from imagebuilder.comfy.import_project import build_project
    from imagebuilder.project.scaffold import data_root, write_project
    from imagebuilder.project.yamlsource import load_yaml

    root = data_root()
    shipped = load_yaml(root / "models.yaml").document
    snapshot = (root / "workflows" / "schema" / "object_info.json").read_bytes()
    built = build_project(result, document, snapshot, shipped)
    written = write_project(folder, built.files)
    report = {"folder": str(folder), "written": written, "left_out": list(built.left_out),
              "skipped": list(result.skipped)}  # fmt: skip

    def human() -> None:
        output.stdout.print(f"{folder}: {', '.join(written)}")
        for name in built.left_out:
            output.stdout.print(f"  left out {name}: the exported graph does not load it")
        output.stdout.print("next: imagebuilder validate && imagebuilder lock")

    output.emit(report, as_json, human)


def register(app: typer.Typer) -> None:
    app.command("render-workflows")(render_workflows)
    app.command("check-workflows")(check_workflows)
    app.command()(cost)
    app.command("import-template")(import_template)
