"""The test run's scheduling: `--dist loadgroup` keeps each `xdist_group` on one worker.

pytest-xdist sends the tests of a group to one worker by the group's name after an `@` in their
node ids. Version 3.8 writes that suffix to `item._nodeid`, which pytest 9 no longer reads, so
every group was spread over the workers, silently: each end-to-end module that starts a suite
of its own (`tests/e2e`) started it once per worker. This plugin (`-p alpr_common.testing.groups`
in the pytest settings) writes the suffix where pytest 9 keeps a node's id: its structured `_id`,
with the string form that id caches. An id that has the suffix already (pytest 8, or an xdist
that writes it itself) is left alone. Kept apart from `alpr_common.testing.plugin` so that it
imports nothing but pytest (`tests/common/test_xdist_groups.py` runs it in a session of its own).
"""

from __future__ import annotations

import dataclasses

import pytest


def group_names(item: pytest.Item) -> set[str]:
    """The names of the `xdist_group`s `item` is in, given as the mark's argument or as `name=`
    (xdist's own reading: no name is "default")."""
    return {
        str(m.args[0] if m.args else m.kwargs.get("name", "default"))
        for m in item.iter_markers("xdist_group")
    }


@pytest.hookimpl(trylast=True)  # after xdist's own hook, which writes the attribute pytest 8 read
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set by xdist on its workers
        return
    for item in items:
        names = sorted(group_names(item))
        node_id = getattr(item, "_id", None)
        if not names or node_id is None or "@" in item.nodeid.rpartition("]")[2]:
            continue
        grouped = dataclasses.replace(node_id)
        object.__setattr__(grouped, "_str_cache", f"{item.nodeid}@{'_'.join(names)}")
        item._id = grouped  # see the module's docstring
