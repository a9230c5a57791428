"""Every sort reads the tasks in its order from an index, walked from the first task in that
order and stopped at the page, never read whole and sorted: the caller's own tasks from the
user-led index of the sort, each shared list's from the list-led one (migration 0012). Asked of
PostgreSQL's planner with whole reads and sorts priced out, so that what is checked
is that such an index exists and serves the statement, whatever the small tables' statistics:
a dropped or changed index fails here.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI

from tests.lists.helpers import create_list
from tests.lists.sharing import share, user_id
from tests.tasks.helpers import create_task
from todo_api.config import Settings
from todo_api.db import Database, Query
from todo_api.kit.deps import held
from todo_api.tasks import listing, pages
from todo_api.tasks.listing import ListQuery, Sort, TaskFilters

SETTINGS = ("enable_seqscan", "enable_bitmapscan", "enable_sort")
# The indexes led by the caller's id and a tag (migrations 0006 and 0021).
CALLERS_TAG_ENTRIES = {"pk_task_tags", "ix_task_tags_user_id_tag_is_completed"}
# A shared list's entries of a tag in creation order (migrations 0016 and 0021).
LIST_TAG_ENTRIES = "ix_task_tags_list_id_tag_created_at_task_id"
# The index each sort's order is read from, where its name is not the sort's.
USER_LED = {
    "priority": "ix_tasks_user_id_priority_id_completed",
    "-due_at": "ix_tasks_user_id_due_at_desc_id",
    "start": "ix_tasks_user_id_start_at_id",
    "-start": "ix_tasks_user_id_start_at_desc_id",
}
LIST_LED = {
    "priority": "ix_tasks_list_id_priority_id_completed",
    "-due_at": "ix_tasks_list_id_due_at_desc_id",
    "start": "ix_tasks_list_id_start_at_id",
    "-start": "ix_tasks_list_id_start_at_desc_id",
}


def _expected(sort: str, filtered: bool) -> list[tuple[str, str, str]]:
    """A filtered page reads each shared list three times over: shallow first, then further
    those that stopped short, up to the bound found or (none found) to the page; each later
    read runs only when needed."""
    field = sort.removeprefix("-")
    user_led = USER_LED.get(sort, USER_LED.get(field, f"ix_tasks_user_id_{field}_id"))
    list_led = LIST_LED.get(sort, LIST_LED.get(field, f"ix_tasks_list_id_{field}_id"))
    return [("own", "Limit", user_led)] + [("shared", "Limit", list_led)] * (1 + 2 * filtered)


def _reads(plan: dict[str, Any], parent: str = "") -> list[tuple[str, str, str]]:
    """The page's reads of `tasks` (the count of the total, an InitPlan, aside; the page's
    common tables are InitPlans too, named CTE): whose tasks
    (the caller's own, or a shared list's for each membership), the node right above, and the
    index read."""
    found = []
    if plan.get("Relation Name") == "tasks":
        # A shared list's tasks are found by their list alone, the caller's own by their owner.
        scope = "own" if "user_id =" in plan.get("Index Cond", "") else "shared"
        found.append((scope, parent, plan.get("Index Name", plan["Node Type"])))
    for child in plan.get("Plans", []):
        common_table = child.get("Subplan Name", "").startswith("CTE ")
        if child.get("Parent Relationship") != "InitPlan" or common_table:
            found += _reads(child, plan["Node Type"])
    return found


async def _member_of_a_shared_list(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, **fields: Any
) -> uuid.UUID:
    """Bob, a member of a list of Alice's with five tasks made with `fields`."""
    listed = await create_list(alice, f"Shared {uuid.uuid4().hex[:8]}")
    await share(alice, bob, listed["id"])
    for n in range(5):
        await create_task(alice, title=f"Buy milk {n}", list_id=listed["id"], **fields)
    return uuid.UUID(await user_id(bob))


async def _plans(
    app: FastAPI,
    member: uuid.UUID,
    queries: list[ListQuery],
    tagged: int | None = None,
    statement: Callable[[listing.Shape], Query] = pages.page_query,
) -> list[dict[str, Any]]:
    """The page statement's plan (or another `statement` of the shape's) for each query of
    the member's. Whole reads and sorts priced out: whatever the tables hold (other tests'
    tasks too), the plan is the walk of an index in order, if one serves it."""
    plans = []
    async with held(app, Database).connection() as conn:
        driver = conn.driver
        for setting in SETTINGS:
            await driver.execute(f"SET {setting} = off")
        try:
            for query in queries:
                shape = listing.shape(query, "postgresql", None, tagged)
                compiled = statement(shape).compiled(conn.dialect)
                params = listing.parameters(query, member, datetime.now(UTC), None)
                explained = await driver.fetchval(
                    f"EXPLAIN (FORMAT JSON) {compiled.sql}", *compiled.arguments(params)
                )
                plans.append(explained[0]["Plan"])
        finally:
            for setting in SETTINGS:
                await driver.execute(f"RESET {setting}")
    return plans


@pytest.mark.parametrize("filters", [TaskFilters(), TaskFilters(completed=False, q="milk")])
async def test_each_sort_reads_own_and_shared_tasks_in_order_from_an_index(
    settings: Settings,
    app: FastAPI,
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    filters: TaskFilters,
) -> None:
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    member = await _member_of_a_shared_list(alice, bob)
    sorts = get_args(Sort)
    queries = [ListQuery(filters=filters, sort=sort) for sort in sorts]
    for sort, plan in zip(sorts, await _plans(app, member, queries), strict=True):
        # Read in order and stopped at the page: a Limit right above each index.
        reads = [read for read in _reads(plan) if read[2] != "pk_tasks"]
        assert sorted(reads) == _expected(sort, filters != TaskFilters()), sort


def _index_reads(plan: dict[str, Any], parent: str = "") -> list[tuple[str, str, str]]:
    """Every index read anywhere in the plan (InitPlans too): table, node above, index."""
    found = []
    if "Index Name" in plan:
        found.append((plan["Relation Name"], parent, plan["Index Name"]))
    for child in plan.get("Plans", []):
        found += _index_reads(child, plan["Node Type"])
    return found


@pytest.mark.parametrize("sort", ["-created_at", "created_at"])
async def test_a_members_tag_page_and_count_read_the_tag_entries_of_each_list(
    settings: Settings,
    app: FastAPI,
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    sort: Sort,
) -> None:
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    member = await _member_of_a_shared_list(alice, bob, tags=["errand"])
    query = ListQuery(filters=TaskFilters(tags=("errand",)), sort=sort)
    [plan] = await _plans(app, member, [query], tagged=0)
    reads = _index_reads(plan)
    # The page's walk of each list and the count of each list, both stopped by a Limit.
    entries = ("task_tags", "Limit", "ix_task_tags_list_id_tag_created_at_task_id")
    assert reads.count(entries) == 2, reads


@pytest.mark.parametrize("sort", ["-created_at", "created_at"])
@pytest.mark.parametrize(
    "filters",
    [
        TaskFilters(tags=("errand",), completed=False),
        TaskFilters(tags=("errand",), priorities=(3,)),
    ],
)
async def test_a_members_tag_page_beside_a_state_walks_the_tag_entries_of_each_list(
    settings: Settings,
    app: FastAPI,
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    sort: Sort,
    filters: TaskFilters,
) -> None:
    """A tag beside a state or priorities: each list's tag entries walked in creation order,
    each task read by its key and checked; never a walk of a list's tasks for the few with
    the tag."""
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    member = await _member_of_a_shared_list(alice, bob, tags=["errand"])
    [plan] = await _plans(app, member, [ListQuery(filters=filters, sort=sort)], tagged=0)
    reads = _index_reads(plan)
    by_list = [index for table, _, index in reads if index.startswith("ix_tasks_list_id")]
    assert by_list == [], reads
    entries = ("task_tags", "ix_task_tags_list_id_tag_created_at_task_id")
    assert entries in {(table, index) for table, _, index in reads}, reads


async def test_a_tag_a_group_in_manual_order_and_a_parents_subtasks_each_read_their_index(
    settings: Settings, app: FastAPI, alice: httpx.AsyncClient
) -> None:
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    listed = await create_list(alice, f"Groups {uuid.uuid4().hex[:8]}")
    parent = await create_task(alice, title="Parent", list_id=listed["id"], tags=["errand"])
    await create_task(alice, title="Child", parent_id=parent["id"])
    owner = uuid.UUID(await user_id(alice))
    list_id, parent_id = uuid.UUID(listed["id"]), uuid.UUID(parent["id"])
    expected = {
        # A rare tag: the caller's entries of it (then sorted), from either index they lead.
        ListQuery(filters=TaskFilters(tags=("errand",))): CALLERS_TAG_ENTRIES,
        # One (list, parent) group in manual order.
        ListQuery(filters=TaskFilters(list_id=list_id, top_level=True), sort="position"): {
            "ix_tasks_user_id_list_id_parent_id_position_id"
        },
        # A parent's subtasks in manual order.
        ListQuery(filters=TaskFilters(parent_id=parent_id), sort="position"): {
            "ix_tasks_parent_id_position_id"
        },
    }
    queries = list(expected)
    for query, plan in zip(queries, await _plans(app, owner, queries, tagged=1), strict=True):
        own = [index for table, _, index in _index_reads(plan) if table in {"tasks", "task_tags"}]
        assert expected[query] & set(own), (query, own)
        if query.filters.tags:
            # Led by the tag's entries, each task read by its key: no walk of the user's tasks,
            # whatever the planner believes of how many there are.
            tasks_read = {index for table, _, index in _index_reads(plan) if table == "tasks"}
            assert tasks_read == {"pk_tasks"}, tasks_read


async def test_a_common_tag_beside_priorities_is_counted_from_its_entries(
    settings: Settings, app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    """The total of a tag on more tasks than the count's cap, filtered by priorities too,
    counts the tag's entries (the caller's, and each shared list's) and reads each task by its
    key: never a walk of the caller's or a list's tasks for the few that match."""
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    member = await _member_of_a_shared_list(alice, bob, tags=["errand"])
    query = ListQuery(filters=TaskFilters(tags=("errand",), priorities=(3,), completed=True))
    common = listing.TOTAL_COUNT_CAP + 1
    [plan] = await _plans(app, member, [query], common, statement=pages.total_query)
    reads = _index_reads(plan)
    assert {index for table, _, index in reads if table == "tasks"} == {"pk_tasks"}, reads
    entries = {index for table, _, index in reads if table == "task_tags"}
    assert entries - CALLERS_TAG_ENTRIES == {LIST_TAG_ENTRIES}, reads
    assert entries & CALLERS_TAG_ENTRIES, reads


def _scans(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """Every read of a table anywhere in the plan: the table and the node's type."""
    found = [(plan["Relation Name"], plan["Node Type"])] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


@pytest.mark.parametrize("completed", [False, True])
async def test_a_tag_in_a_state_is_counted_and_walked_from_its_entries_alone(
    settings: Settings,
    app: FastAPI,
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    completed: bool,
) -> None:
    """A tag and a state, common or rare: the total counts the entries in that state (the
    caller's by tag and state, each shared list's by tag, with its state included), and reads
    no task; the member's page walks each list's entries in the state and reads by key only
    the tasks it returns. Every entry is read from an index alone."""
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    member = await _member_of_a_shared_list(alice, bob, tags=["errand"])
    query = ListQuery(filters=TaskFilters(tags=("errand",), completed=completed))
    async with held(app, Database).connection() as conn:
        # The entries' pages marked visible, as autovacuum marks them: an index that holds
        # the state then reads no heap, which is what makes it the cheapest.
        await conn.driver.execute("VACUUM task_tags")
    for tagged in (0, listing.TOTAL_COUNT_CAP + 1):
        [total] = await _plans(app, member, [query], tagged, statement=pages.total_query)
        assert {table for table, _ in _scans(total)} == {"task_tags", "list_members"}, total
        reads = _index_reads(total)
        entries = {index for table, _, index in reads if table == "task_tags"}
        assert entries == {"ix_task_tags_user_id_tag_is_completed", LIST_TAG_ENTRIES}, reads
        [page] = await _plans(app, member, [query], tagged)
        reads = _index_reads(page)
        walked = {index for table, _, index in reads if table == "tasks"}
        assert walked - {"pk_tasks"} <= {"ix_tasks_user_id_created_at_id"}, reads
        for plan in (total, page):
            node_types = {node for table, node in _scans(plan) if table == "task_tags"}
            assert node_types == {"Index Only Scan"}, plan
