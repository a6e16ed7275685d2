"""The installed `roadchief` command runs its verbs in an app context of its own (no fixture
pushes one here, unlike `app.test_cli_runner()`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from flask import current_app

from roadchief.cli import main


def test_verbs_run_in_their_own_app_context(tmp_path):
    assert not current_app  # nothing pushed by a fixture: as when a user types the command
    env = {"ROADCHIEF_DATABASE_URL": f"sqlite:///{tmp_path / 'rc.db'}", "ROADCHIEF_SECRET_KEY": "cli-test"}
    runner = CliRunner()
    result = runner.invoke(main, ["init-db"], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["network", "summary", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["segments"] == 0
    result = runner.invoke(
        main, ["create-user", "cli-admin", "--role", "city_office", "--password", "Cli-check-123"], env=env
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["funding", "params", "2024"], env=env)
    assert result.exit_code == 0, result.output


def test_help_lists_every_verb_without_building_the_app(monkeypatch):
    # `roadchief --help` is typed often; building the app (config, extensions, blueprints) made it slow (#15)
    import roadchief.cli as cli

    built = []

    def refuse(*_args, **_kwargs):
        built.append(1)  # Flask's group swallows errors while listing, so count the calls
        raise AssertionError("--help must not build the app")

    monkeypatch.setattr(cli, "_app_factory", refuse)
    monkeypatch.setattr(cli.main, "create_app", refuse)
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    assert not built
    for verb in ("init-db", "import-roads", "funding", "inspections", "backup", "network", "serve"):
        assert verb in result.output


def test_help_imports_neither_the_web_stack_nor_the_plugins():
    # What made `roadchief --help` take a second (#15): the package root importing APIFlask and
    # SQLAlchemy, and listing the plugins' commands importing them (APIFlask's `spec`). A fresh
    # interpreter, since this test process has long imported them all.
    probe = (
        "import sys\n"
        "from roadchief.cli import main\n"
        "sys.argv = ['roadchief', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'apiflask', 'sqlalchemy', 'flask_sqlalchemy', 'flask_limiter', 'roadchief.app', 'roadchief.models'}\n"
        "print('LOADED', sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out, out
    for plugin_verb in ("spec", "limiter"):  # listed by their entry points' names, not imported
        assert f"\n  {plugin_verb} " in out


def test_a_plugin_verb_still_loads_and_runs(tmp_path):
    env = {"ROADCHIEF_DATABASE_URL": f"sqlite:///{tmp_path / 'rc.db'}", "ROADCHIEF_SECRET_KEY": "cli-test"}
    result = CliRunner().invoke(main, ["spec", "--help"], env=env)
    assert result.exit_code == 0, result.output
    assert "OpenAPI" in result.output
    result = CliRunner().invoke(main, ["spec", "--quiet", "--output", str(tmp_path / "spec.json")], env=env)
    assert result.exit_code == 0, result.output
    assert "/api/v1/segments" in json.loads((tmp_path / "spec.json").read_text())["paths"]


def test_the_package_root_forwards_the_app_factory_lazily():
    import roadchief
    from roadchief.app import create_app

    assert roadchief.create_app is create_app  # gunicorn's `roadchief:create_app()` resolves it this way
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        roadchief.nothing_here  # noqa: B018
