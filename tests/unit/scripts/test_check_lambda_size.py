"""The deploy check that keeps each function plus the shared layer under Lambda's unzipped size limit."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "check-lambda-size.py"


@pytest.fixture(scope="module")
def check():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("check_lambda_size", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(root: Path, layer_bytes: int, functions: dict[str, int]) -> Path:
    (root / "MaoLayer" / "python").mkdir(parents=True)
    (root / "MaoLayer" / "python" / "blob").write_bytes(b"\0" * layer_bytes)
    for name, size in functions.items():
        (root / name).mkdir()
        (root / name / "app.py").write_bytes(b"#" * size)
    return root


def test_passes_when_every_function_with_the_layer_fits(check, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    build = _build(tmp_path, 1000, {"TracesFunction": 10, "HealthFunction": 20})
    assert check.main(["x", str(build)]) == 0
    assert "HealthFunction 0.0 MB" in capsys.readouterr().out


def test_fails_naming_the_function_over_the_limit(check, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(check, "LIMIT", 1015)
    build = _build(tmp_path, 1000, {"TracesFunction": 10, "HealthFunction": 20})
    assert check.main(["x", str(build)]) == 1
    err = capsys.readouterr().err
    assert "HealthFunction" in err and "TracesFunction" not in err


def test_an_empty_build_is_an_error_not_a_pass(check, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "MaoLayer").mkdir()
    assert check.main(["x", str(tmp_path)]) == 2
