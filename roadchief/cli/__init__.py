"""The `roadchief` command: Flask's CLI plus the project's batch jobs, one module per area.

Every batch job is a thin verb over a service, the same one a web action calls. The area modules
define plain click commands and groups; this module builds the group and adds them (they never
import it back). Shared helpers live in `roadchief.cli.common`.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup, with_appcontext

from roadchief.cli import accounts, backup, database, funding, inspections, notifications, operations, register, server


def _app_factory(*_args, **_kwargs):
    # imported here, not at the top: listing the commands must not load the web stack (#15)
    from roadchief.app import create_app

    return create_app()


class RoadchiefGroup(FlaskGroup):
    """Flask's group, but listing commands (`roadchief --help`) neither builds the app nor imports
    the plugins' commands (issue #15: under a second; importing APIFlask's `spec` alone costs about
    0.4 s). Every verb is registered here or by a plugin, so there is nothing the app could add to
    the list; a plugin's command is listed by its entry point's name and imported when it runs."""

    _listing = False

    def _plugin_entry_points(self) -> dict:
        from importlib.metadata import entry_points

        return {ep.name: ep for ep in entry_points(group="flask.commands") if ep.name not in self.commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*click.Group.list_commands(self, ctx), *self._plugin_entry_points()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        own = click.Group.get_command(self, ctx, cmd_name)
        if own is not None:
            return own
        if self._listing:
            entry = self._plugin_entry_points().get(cmd_name)
            if entry is not None:
                source = entry.dist.name if entry.dist is not None else entry.value
                return click.Command(cmd_name, help=f"{source} 提供的命令（roadchief {cmd_name} --help 查看用法）")
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False


@click.group(cls=RoadchiefGroup, create_app=_app_factory, add_default_commands=True, add_version_option=False)
def main():
    """青铜峡市农村公路“路长制”管理系统 roadchief."""


COMMANDS = (
    # database and server
    database.init_db,
    database.app_role_cmd,
    server.serve,
    server.load_demo,
    # register & import, accounts
    register.network,
    register.import_roads_cmd,
    register.import_roster_cmd,
    accounts.create_user_cmd,
    accounts.create_token_cmd,
    accounts.revoke_token_cmd,
    accounts.list_tokens_cmd,
    accounts.disable_user_cmd,
    accounts.enable_user_cmd,
    accounts.create_chief_accounts_cmd,
    # funding, inspections & scoring, operations, backup
    funding.funding,
    funding.scores,
    inspections.inspections,
    notifications.rectifications,
    notifications.notifications,
    operations.ops,
    backup.backup_cmd,
    backup.restore_cmd,
)


def _in_app_context(command: click.Command) -> click.Command:
    """Run every verb inside the app context, as `FlaskGroup.command` would: the area modules
    define plain click commands, which `add_command` does not wrap."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _in_app_context(sub)
    elif command.callback is not None and not getattr(command.callback, "_in_app_context", False):
        command.callback = with_appcontext(command.callback)
        command.callback._in_app_context = True
    return command


for command in COMMANDS:
    main.add_command(_in_app_context(command))
