"""Where the queue lives: `--gateway` or `--db`, then `REVIEWER_GATEWAY` or `REVIEWER_DB`, then
`gateway` or `db` in the user's `reviewer.toml`, then a SQLite file in the user data dir. A
gateway's token comes from `REVIEWER_TOKEN` only (never a flag: command lines are visible to
others).

Settings come from the user's config (`~/.config/reviewer/reviewer.toml` on Linux). A
`reviewer.toml` in the working directory belongs to whoever wrote that directory (a cloned
repository, say), so only harmless preferences (`PROJECT_KEYS`) are taken from it: nothing that
decides where a token goes, which queue or policy a gate trusts, who the reviewer is, or what a
key does. The rest of it is ignored, with a warning naming the keys."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ReviewerError

if TYPE_CHECKING:
    from .queue import ReviewQueue

APP = "reviewer"
_said: set[str] = set()  # the warnings given in this process


def data_dir() -> Path:
    """The user data directory, created private (0700): the queue holds personal data."""
    from platformdirs import user_data_dir

    path = Path(user_data_dir(APP, appauthor=False))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


# What a working directory's reviewer.toml may set. `queues` is never in effect (only named in
# the warning of `old_queue_keys`).
PROJECT_KEYS = frozenset({"notify_bell", "notify_desktop", "queues"})


@dataclass(frozen=True)
class ConfigFile:
    """A `reviewer.toml` that was read, and which of its keys were taken and ignored."""

    path: Path
    used: tuple[str, ...]
    ignored: tuple[str, ...] = ()


def user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP, appauthor=False)) / "reviewer.toml"


def load_config() -> dict[str, Any]:
    """The user's settings, with the harmless ones of a working directory's `reviewer.toml`
    over them.

    Read once per process and working directory (the queue, the reviewer's name, keymap and
    settings all come from it at start); treat the result as read-only.
    """
    return _load_config(str(Path.cwd()))[0]


def config_files() -> tuple[ConfigFile, ...]:
    """The files `load_config` read: what the app says it read."""
    return _load_config(str(Path.cwd()))[1]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ReviewerError(f"{path}: not valid TOML: {e}", hint="fix or remove the file") from e


@cache
def _load_config(cwd: str) -> tuple[dict[str, Any], tuple[ConfigFile, ...]]:
    config: dict[str, Any] = {}
    read: list[ConfigFile] = []
    user = user_config_path()
    if user.is_file():
        config = _read_toml(user)
        read.append(ConfigFile(user, tuple(config)))
    local = Path(cwd) / "reviewer.toml"
    if local.is_file() and local.resolve() != user.resolve():
        found = _read_toml(local)
        taken = {k: v for k, v in found.items() if k in PROJECT_KEYS}
        config = {**config, **taken}
        read.append(ConfigFile(local, tuple(taken), tuple(k for k in found if k not in PROJECT_KEYS)))
    return config, tuple(read)


def ignored_settings() -> str | None:
    """What a working directory's `reviewer.toml` set that is not taken, or None."""
    for f in config_files():
        if f.ignored:
            return (f"{f.path}: ignored {', '.join(f.ignored)}: a working directory's reviewer.toml "
                    f"may set only {', '.join(sorted(PROJECT_KEYS - {'queues'}))}; put the rest in "
                    f"{user_config_path()}, the environment or flags")
    return None


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'queue.db'}"


def demo_db_path() -> Path:
    """Where `reviewer demo` builds its queue: a file of its own, never the real queue."""
    return data_dir() / "demo.db"


def is_gateway(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def resolve_db_url(explicit: str | None = None, gateway: str | None = None) -> str:
    """The queue's URL: a database, or a gateway (`http(s)://`). A bare path is a SQLite file."""
    config = load_config()
    if (ignored := ignored_settings()) and ignored not in _said:
        import sys

        _said.add(ignored)
        print(f"warning: {ignored}", file=sys.stderr)
    url = (gateway or explicit or os.environ.get("REVIEWER_GATEWAY") or os.environ.get("REVIEWER_DB")
           or config.get("gateway") or config.get("db") or default_db_url())
    if "://" not in url:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", url):  # a scheme without its //: not a file name
            from .errors import Invalid

            raise Invalid(f"{url!r} is not a database URL",
                          hint="write sqlite:////absolute/path.db (four slashes), sqlite:///relative.db, "
                               "postgresql+psycopg://..., or a plain file path")
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def reviewer_name() -> str:
    """Who is reviewing: REVIEWER_NAME, the config's `reviewer`, or the login name."""
    import getpass

    name = os.environ.get("REVIEWER_NAME") or load_config().get("reviewer")
    if not name:
        try:
            name = getpass.getuser()
        except Exception:  # no login name in some containers
            name = "reviewer"
    return name


def open_queue(db: str | None = None, gateway: str | None = None) -> ReviewQueue:
    """Open the configured queue: a gateway's (`HttpQueue`, with `REVIEWER_TOKEN`), or a local
    database (the ORM loads on first use). Each queue's rules (two approvers, reasons,
    guidelines, lease) live in the queue: `reviewer queue set`."""
    if message := old_queue_warning():
        import sys

        print(f"warning: {message}", file=sys.stderr)
    url = resolve_db_url(db, gateway)
    if is_gateway(url):
        from .client import HttpQueue
        from .outbox import Outbox

        return HttpQueue(url, token=os.environ.get("REVIEWER_TOKEN"), outbox=Outbox.for_gateway(url))
    from reviewer.storage import SqlQueue

    queue: ReviewQueue = SqlQueue.open(url)
    return queue


def old_queue_keys(config: dict[str, Any]) -> str | None:
    """What to run instead of the `[queues.NAME]` tables of an old `reviewer.toml`, which are
    no longer read (a queue's rules live in the queue), or None when there are none."""
    queues = config.get("queues")
    if not isinstance(queues, dict) or not queues:
        return None
    import shlex

    commands = []
    for name, opts in queues.items():
        args = ["reviewer", "queue", "set", str(name)]
        if isinstance(opts, dict):
            if opts.get("two_approvers"):
                args.append("--two-approvers")
            if opts.get("reasons"):
                args += ["--reasons", ",".join(map(str, opts["reasons"]))]
            if opts.get("guidelines"):
                args += ["--guidelines", str(opts["guidelines"])]
        commands.append(shlex.join(args))
    return ("reviewer.toml: the [queues.*] settings are no longer read, and are NOT in effect: a "
            "queue's rules now live in the queue, shared by everyone who uses it. Set them once "
            "with:\n  " + "\n  ".join(commands) + "\nthen remove [queues.*] from reviewer.toml.")



def old_queue_warning(config: dict[str, Any] | None = None) -> str | None:
    """`old_queue_keys`, once per process: the CLI prints it, the TUI shows it."""
    message = old_queue_keys(load_config() if config is None else config)
    if message is None or message in _said:
        return None
    _said.add(message)
    return message
