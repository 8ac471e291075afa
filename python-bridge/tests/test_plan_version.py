"""The worker reads only the plan version it was written for."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))

from tune_bridge.protocol import PLAN_VERSION, Refused, read_plan  # noqa: E402


def test_reads_its_own_plan_version(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"plan_version": PLAN_VERSION, "name": "run"}), encoding="utf-8")
    assert read_plan(str(plan))["name"] == "run"


@pytest.mark.parametrize("version", [1, PLAN_VERSION + 1, None])
def test_refuses_another_plan_version(tmp_path: Path, version: int | None) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"plan_version": version}), encoding="utf-8")
    with pytest.raises(Refused) as refused:
        read_plan(str(plan))
    assert refused.value.code == "plan-version"
    assert "--restart" in refused.value.hint


def test_matches_the_plan_version_tune_writes() -> None:
    resolve = (ROOT / "src/recipe/resolve.ts").read_text(encoding="utf-8")
    assert f"export const PLAN_VERSION = {PLAN_VERSION};" in resolve
