"""The docs cannot drift: every legal rule of sections A, B, C (and D1, D2, F2) is named in
the code that enforces it and in the tests; the rules table is current; every CLI command
and every API route is documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import rules_table  # noqa: E402

needs_rules = pytest.mark.skipif(not rules_table.RULES.exists(), reason="../shared/reference/LEGAL-RULES.md not beside the repo")


@needs_rules
@pytest.mark.parametrize("rule", [r for r, _ in rules_table.rule_ids(rules_table.RULES.read_text())
                                  if r[0] in "ABC" or r in ("D1", "D2", "F2")] if rules_table.RULES.exists() else [])
def test_rule_named_in_code_and_tests(rule: str) -> None:
    assert rules_table.mentions(rule, "calea"), f"no module names rule {rule}"
    assert rules_table.mentions(rule, "tests"), f"no test names rule {rule}"


@needs_rules
def test_rules_table_is_current() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "rules_table.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_every_cli_command_documented() -> None:
    from calea.cli import app

    guide = (ROOT / "docs" / "operator-guide.md").read_text()
    names = [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore[union-attr]
    names += [g.name for g in app.registered_groups]
    missing = [n for n in names if f"calea {n}" not in guide]
    assert not missing, f"undocumented commands: {missing}"


def test_every_api_route_documented() -> None:
    from calea.web.app import API_ROUTERS

    doc = (ROOT / "docs" / "api.md").read_text()
    routes = []
    for router in API_ROUTERS:
        for route in router.routes:
            for method in sorted(getattr(route, "methods", None) or ["WS"]):
                routes.append(f"{method} /api/v1{route.path}")
    missing = [r for r in routes if f"`{r}`" not in doc]
    assert not missing, f"undocumented routes: {missing}"


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"make run", readme) and re.search(r"make test", readme)
    assert "docs/screenshot.png" in readme
