"""The installed `roadchief` command runs its verbs in an app context of its own (no fixture
pushes one here, unlike `app.test_cli_runner()`)."""

from __future__ import annotations

import json

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
