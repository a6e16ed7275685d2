"""The `roadchief` command: Flask's CLI plus the project's batch jobs, one module per area.

Every batch job is a thin verb over a service, the same one a web action calls. The area modules
define plain click commands and groups; this module builds the group and adds them (they never
import it back). Shared helpers live in `roadchief.cli.common`.
"""
from __future__ import annotations

import click
from flask.cli import FlaskGroup

from roadchief import create_app
from roadchief.cli import accounts, backup, database, funding, inspections, operations, register, server


def _app_factory(*_args, **_kwargs):
    return create_app()


@click.group(cls=FlaskGroup, create_app=_app_factory, add_default_commands=True, add_version_option=False)
def main():
    """青铜峡市农村公路“路长制”管理系统 roadchief."""


for command in (
    database.init_db, database.app_role_cmd,  # database
    server.load_demo, server.serve,  # server and demo
    register.network, register.import_roads_cmd, register.import_roster_cmd,  # register & import
    accounts.create_user_cmd, accounts.create_token_cmd,  # accounts
    funding.funding, funding.scores,  # funding
    inspections.inspections,  # inspections & scoring
    operations.ops,  # operations
    backup.backup_cmd, backup.restore_cmd,  # backup
):
    main.add_command(command)
del command
