"""Golden files cannot pass by accident: a missing one fails, only the variable writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import golden


def test_a_missing_golden_fails_and_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(golden, "GOLDEN_DIR", tmp_path)
    monkeypatch.delenv(golden.UPDATE_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match="missing"):
        golden.check_golden("new.txt", "text\n")
    assert not (tmp_path / "new.txt").exists()


def test_the_update_variable_writes_then_the_golden_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(golden, "GOLDEN_DIR", tmp_path)
    monkeypatch.setenv(golden.UPDATE_ENV, "1")
    golden.check_golden_folder("out", {"a.txt": "a\n"})
    monkeypatch.delenv(golden.UPDATE_ENV)
    golden.check_golden_folder("out", {"a.txt": "a\n"})
    with pytest.raises(AssertionError, match="differs"):
        golden.check_golden("out/a.txt", "b\n")
    with pytest.raises(pytest.fail.Exception, match="missing"):
        golden.check_golden_folder("out", {"a.txt": "a\n", "b.txt": "b\n"})
