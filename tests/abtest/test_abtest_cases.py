"""The cases file is hostile input: every problem names its line and what to do."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagebuilder.abtest.cases import load_cases
from imagebuilder.errors import ConfigError, ConfigErrors

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_cases_load_with_their_images() -> None:
    cases = load_cases(ROOT / "samples" / "cases.yaml")
    assert [c.name for c in cases] == ["red-ball", "house-night", "box-pattern"]
    assert [len(c.images) for c in cases] == [1, 1, 2]
    assert all(image.format == "png" for case in cases for image in case.images)
    assert cases[0].where == "cases.yaml:7"


def test_shipped_images_are_exactly_what_the_script_draws(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_images", ROOT / "samples" / "make_images.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in module.IMAGES:
        drawn = np.asarray(Image.open(tmp_path / name))
        shipped = np.asarray(Image.open(ROOT / "samples" / "images" / name))
        assert np.array_equal(drawn, shipped), name
        assert (ROOT / "samples" / "images" / name).stat().st_size < 50_000


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "in.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    path = tmp_path / "cases.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_cases(path)
    return [p.render() for p in caught.value.problems]


def test_unknown_key_points_at_its_line_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\ncases:\n  - name: a\n    images: [in.png]\n    prompt: p\n    sed: 3\n",
    )
    problems = _problems(path)
    assert "cases.yaml:6: cases.0.sed: unknown key 'sed'\n  hint: did you mean 'seed'?" in problems
    assert any("cases.yaml:3: cases.0.seed: missing required key 'seed'" in p for p in problems)


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        ("[../in.png]", "is outside the cases file's folder"),
        ("[/etc/passwd]", "is outside the cases file's folder"),
        ("[missing.png]", "'missing.png' not found"),
        ("[cases.yaml]", "is not a PNG, JPEG or WebP image"),
    ],
)
def test_bad_image_paths_are_refused_at_their_line(
    tmp_path: Path, images: str, expected: str
) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (tmp_path / "in.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    path = sub / "cases.yaml"
    path.write_text(
        f"version: 1\ncases:\n  - name: a\n    prompt: p\n    seed: 1\n    images: {images}\n",
        encoding="utf-8",
    )
    problems = _problems(path)
    assert len(problems) == 1
    assert problems[0].startswith("cases.yaml:6: cases[0].images[0]: ")
    assert expected in problems[0]


def test_nine_images_duplicate_names_and_seed_range(tmp_path: Path) -> None:
    body = (
        "version: 1\ncases:\n"
        "  - {name: a, images: [" + ", ".join(["in.png"] * 9) + "], prompt: p, seed: 1}\n"
        "  - {name: b, images: [in.png], prompt: p, seed: 18446744073709551616}\n"
        "  - {name: b, images: [in.png], prompt: p, seed: 2}\n"
        "  - {name: b, images: [in.png], prompt: p, seed: 2}\n"
    )
    problems = _problems(_write(tmp_path, body))
    assert any(p.startswith("cases.yaml:3: cases.0.images:") for p in problems)
    assert any(p.startswith("cases.yaml:4: cases.1.seed:") for p in problems)


def test_duplicate_names_are_reported_at_the_second_one(tmp_path: Path) -> None:
    body = (
        "version: 1\ncases:\n"
        "  - {name: b, images: [in.png], prompt: p, seed: 2}\n"
        "  - {name: b, images: [in.png], prompt: p, seed: 2}\n"
    )
    problems = _problems(_write(tmp_path, body))
    assert problems == [
        "cases.yaml:4: cases[1].name: 'b' is used twice\n"
        "  hint: give every case its own name: reports and outputs are keyed by it"
    ]


def test_aliases_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    body = "version: 1\nx: &a [1]\ncases: *a\n"
    with pytest.raises(ConfigError, match="aliases"):
        load_cases(_write(tmp_path, body))
    with pytest.raises(ConfigError) as caught:
        load_cases(tmp_path / "none.yaml")
    assert "--cases" in (caught.value.hint or "")
