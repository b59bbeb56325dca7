"""The runbooks (docs/runbook.pt-BR.md, docs/runbook.md) against the stack: every command of
the production runbook the product started from is in ours (``flask`` read as ``webui``), and
every command in ours names services, scripts and subcommands that exist."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from tests.ops.helpers import REPO, VENV_BIN

pytestmark = pytest.mark.ops

RUNBOOKS = [REPO / "docs/runbook.pt-BR.md", REPO / "docs/runbook.md"]
COMPOSE = "docker-compose -f docker-compose.prod.yml"

# The commands of the original production runbook (seed/runbook.pt.md), verbatim.
SEED_COMMANDS = [
    f"{COMPOSE} ps",
    f"{COMPOSE} logs --tail=100 web",
    "docker stats --no-stream",
    f"{COMPOSE} exec db pg_isready",
    f"{COMPOSE} restart web",
    f"{COMPOSE} down",
    f"{COMPOSE} up -d",
    "curl -f https://sms.yourdomain.com/api/health",
    f"{COMPOSE} logs db",
    f'{COMPOSE} exec db psql -U user -d sms_gateway -c "SELECT count(*) FROM pg_stat_activity;"',
    "df -h",
    f"{COMPOSE} restart db",
    f"{COMPOSE} exec db pg_dump -U user sms_gateway > test_dump.sql",
    "./scripts/backup.sh restore latest",
    "./scripts/monitor.sh",
    f"{COMPOSE} exec web ps aux",
    'grep "Slow request" logs/app.log',
    f"{COMPOSE} exec redis redis-cli info stats",
    f"{COMPOSE} exec redis redis-cli FLUSHALL",
    'find logs/ -name "*.log" -mtime +7 -delete',
    "docker image prune -f",
    "./scripts/backup.sh",
    "gunzip -t backups/latest_backup.sql.gz",
    f"{COMPOSE} pull",
    f"{COMPOSE} exec web logrotate /etc/logrotate.conf",
    'find logs/nginx/ -name "*.log" -mtime +30 -delete',
    'find logs/ -name "*.log" -mtime +30 -delete',
    "curl -s https://sms.yourdomain.com/api/metrics | jq .",
    f"{COMPOSE} logs -f --tail=50",
    f"{COMPOSE} exec db psql -U user -d sms_gateway -c "
    "\"SELECT * FROM pg_stat_activity WHERE state = 'active';\"",
    'grep "Failed login" logs/app.log | tail -100',
    'grep "Rate limit exceeded" logs/nginx/access.log'
    " | awk '{print $1}' | sort | uniq -c | sort -nr",
    f"{COMPOSE} exec nginx nginx -s reload",
    f"{COMPOSE} exec web flask list-users",
    f"{COMPOSE} exec web flask security-check",
    "openssl x509 -in ssl/cert.pem -noout -dates",
]

# Where our runbook deliberately differs: a dump redirected to a file needs -T, or the
# container's terminal (CR LF) ends up in it.
SUBSTITUTES = {
    f"{COMPOSE} exec db pg_dump -U user sms_gateway > test_dump.sql": (
        f"{COMPOSE} exec -T db pg_dump -U user sms_gateway > test_dump.sql"
    ),
}


def commands(text: str) -> list[str]:
    """Command lines inside ```bash blocks (comments dropped, continuations joined)."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                found.append(line)
    return found


def ours(command: str) -> str:
    command = SUBSTITUTES.get(command, command)
    return command.replace("exec web flask ", "exec web webui ")


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda p: p.name)
def test_every_seed_command_is_in_our_runbook(runbook: object) -> None:
    text = REPO.joinpath("docs", getattr(runbook, "name", "")).read_text()
    present = set(commands(text))
    missing = [ours(c) for c in SEED_COMMANDS if ours(c) not in present]
    assert missing == []


def compose_services() -> set[str]:
    env = {"POSTGRES_PASSWORD": "x", "SMSGW_SECRET_KEY": "y", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.prod.yml", "config", "--services"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    return set(result.stdout.split())


def subcommands(program: str) -> set[str]:
    result = subprocess.run([str(VENV_BIN / program), "--help"], capture_output=True, text=True)
    return set(re.findall(r"^    ([a-z][a-z-]+)", result.stdout, flags=re.MULTILINE))


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda p: p.name)
def test_commands_name_things_that_exist(runbook: object) -> None:
    text = REPO.joinpath("docs", getattr(runbook, "name", "")).read_text()
    services = compose_services()
    programs = {"webui": subcommands("webui"), "gatewayd": subcommands("gatewayd")}
    problems = []
    for line in commands(text):
        words = shlex.split(line.split("|")[0].split(">")[0], posix=True)
        if words[:3] == ["docker-compose", "-f", "docker-compose.prod.yml"]:
            rest = [w for w in words[3:] if w not in ("--profile", "modems")]
            verb = rest[0]
            if verb in ("exec", "logs", "restart") or (verb == "up" and "gatewayd" in rest):
                targets = [w for w in rest[1:] if not w.startswith("-")]
                if targets and targets[0] not in services:
                    problems.append(f"{line}: no service {targets[0]}")
        for word in words:
            path = REPO / word.removeprefix("./")
            if word.startswith(("./scripts/", "scripts/", "udev/", "nginx/")) and not path.exists():
                problems.append(f"{line}: {word} does not exist")
        for program, known in programs.items():
            for index, word in enumerate(words[:-1]):
                # the program itself: first word, after "exec <service>", or a path to it
                runs = word.endswith(f"/bin/{program}") or (
                    word == program and (index == 0 or words[index - 1] in services)
                )
                if runs and words[index + 1] not in known:
                    problems.append(f"{line}: {program} has no {words[index + 1]}")
    assert problems == []
