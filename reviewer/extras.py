"""The optional parts of the install (extras), and the one-line error when one is missing.

`reviewer` is the import name and the command; the distribution on PyPI is `DIST` (the name
`reviewer` belongs to another project there).
"""

from __future__ import annotations

import re
from functools import cache

DIST = "reviewer-tui"
# module names that are not their distribution's name with - turned into _
MODULE_OF = {"openai-agents": "agents", "python-stdnum": "stdnum"}


def install_command(extra: str) -> str:
    return f"pip install '{DIST}[{extra}]'  (in a checkout: pip install -e '.[{extra}]')"


@cache
def extra_of_module() -> dict[str, str]:
    """Top-level module name -> the extra that installs it, from the installed metadata."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        lines = requires(DIST) or []
    except PackageNotFoundError:
        return {}
    found: dict[str, str] = {}
    for line in lines:
        m = re.match(r"""([A-Za-z0-9._-]+).*;\s*extra\s*==\s*["']([^"']+)["']""", line)
        if m and m.group(2) != "dev" and m.group(1) != DIST:
            dist = m.group(1).lower()
            found[MODULE_OF.get(dist, dist.replace("-", "_"))] = m.group(2)
    return found


def missing_extra(error: ModuleNotFoundError) -> tuple[str, str] | None:
    """(the module, its extra) when `error` is an extra that is not installed, else None."""
    module = (error.name or "").split(".")[0]
    extra = extra_of_module().get(module)
    return (module, extra) if extra else None
