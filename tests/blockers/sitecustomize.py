"""Loaded by tests/test_extras.py (PYTHONPATH): the modules named in BLOCK_MODULES are not installed."""
import os
import sys

BLOCKED = set(filter(None, os.environ.get("BLOCK_MODULES", "").split(",")))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
