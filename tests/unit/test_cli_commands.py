"""The subcommand tables of ``gatewayd`` and ``webui``: each lists exactly what its modules
register, with the same help, and a command imports only its own module (``gatewayd pdu`` and
``webui --help`` never load SQLAlchemy, the daemon or the web app)."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import gatewayd.cli
import webui.cli
from gatewayd.config.command_line import Subcommand, add_subcommands

TABLES = {"gatewayd": gatewayd.cli.SUBCOMMANDS, "webui": webui.cli.SUBCOMMANDS}


def registered_by_modules(table: Sequence[Subcommand]) -> dict[str, str]:
    """Every command the table's modules register, with its help, all modules imported."""
    subparsers = argparse.ArgumentParser().add_subparsers()
    for module in dict.fromkeys(command.module for command in table):
        importlib.import_module(module).register(subparsers)
    return {action.dest: str(action.help) for action in subparsers._choices_actions}


@pytest.mark.parametrize("program", sorted(TABLES))
def test_the_table_lists_what_the_modules_register(program: str) -> None:
    table = TABLES[program]
    assert registered_by_modules(table) == {c.name: c.help for c in table}


@pytest.mark.parametrize("program", sorted(TABLES))
def test_the_top_level_help_lists_every_command(program: str) -> None:
    result = subprocess.run(
        [Path(sys.executable).with_name(program), "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    for command in TABLES[program]:
        assert f"    {command.name}" in result.stdout


@pytest.mark.parametrize(
    ("program", "command"),
    [(program, c.name) for program, table in sorted(TABLES.items()) for c in table],
)
def test_every_command_answers_help(
    program: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main = gatewayd.cli.main if program == "gatewayd" else webui.cli.main
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {program} {command} ")


def test_only_the_chosen_command_module_is_imported() -> None:
    parser = argparse.ArgumentParser()
    table = (
        Subcommand("pdu", "gatewayd.cli.pdu", "decode or encode SMS PDUs (JSON out)"),
        Subcommand("absent", "gatewayd.cli.no_such_module", "left out: not installed"),
        Subcommand("run", "gatewayd.cli.run", "placeholder only"),
    )
    add_subcommands(parser, table, ["pdu", "decode", "00"])
    args = parser.parse_args(["pdu", "decode", "00"])
    assert args.handler.__module__ == "gatewayd.cli.pdu"
    with pytest.raises(SystemExit):
        parser.parse_args(["absent"])


@pytest.mark.parametrize(
    ("argv", "not_loaded"),
    [
        (["gatewayd", "--help"], ("sqlalchemy", "aiohttp", "gatewayd.service.daemon")),
        (["gatewayd", "pdu", "decode", "--help"], ("sqlalchemy", "aiohttp", "gatewayd.cli.run")),
        (["gatewayd", "simulate", "--help"], ("sqlalchemy", "gatewayd.store")),
        (["webui", "--help"], ("sqlalchemy", "aiohttp", "webui.app")),
        (["webui", "create-user", "--help"], ("webui.app", "webui.cli.run")),
        (["webui", "list-users", "--help"], ("webui.app", "webui.cli.apikeys")),
        (["gatewayd", "run", "--help"], ("alembic", "gatewayd.simulator", "webui")),
        (["gatewayd", "show", "1", "--help"], ("alembic", "gatewayd.simulator")),
        (["gatewayd", "send", "--help"], ("alembic", "gatewayd.simulator")),
        (["gatewayd", "health", "--help"], ("sqlalchemy", "alembic")),
        (["webui", "create-api-key", "--help"], ("alembic", "gatewayd.simulator", "webui.app")),
    ],
)
def test_a_command_imports_only_what_it_runs(argv: list[str], not_loaded: tuple[str, ...]) -> None:
    program, *arguments = argv
    script = (
        f"import sys, {program}.cli as cli\n"
        "try:\n"
        f"    cli.main({arguments!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {not_loaded!r} if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stderr.strip().splitlines()[-1] == "[]", result.stderr


@pytest.mark.parametrize("program", sorted(TABLES))
def test_the_installed_command_never_loads_the_dev_only_pretty_printers(program: str) -> None:
    """structlog and Mako load rich and pygments when they find them; the installed commands
    start as in production, where neither is installed."""
    script = (
        f"import sys, {program}.cli as cli\n"
        f"sys.argv = ['{program}', 'run', '--help']\n"
        "try:\n"
        "    cli.console_main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "import structlog, mako.exceptions\n"
        "loaded = [m for m in ('rich', 'pygments') if sys.modules.get(m) is not None]\n"
        "print(loaded, 'structlog' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stderr.strip().splitlines()[-1] == "[] True", result.stderr
