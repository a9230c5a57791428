"""The filter language's reader on its own: the trees it reads, the precedence of its
operators, its quoting, and the position and expectation of every error."""

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from todo_api.tasks.filter_query import (
    And,
    Condition,
    FilterError,
    Group,
    Not,
    Or,
    parse,
    skeleton,
    values,
)


def one(text: str) -> object:
    [group] = parse(text)
    return group.node


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("today", "today"),
        ("Tomorrow", "tomorrow"),
        ("OVERDUE", "overdue"),
        ("no date", "no_date"),
        ("no   due date", "no_date"),
        ("recurring", "recurring"),
        ("next 7 days", "next_7_days"),
        ("no labels", "no_labels"),
        ("shared", "shared"),
        ("subtask", "subtask"),
        ("subtasks", "subtask"),
        ("assigned to: me", "assigned_to_me"),
        ("assigned to: Others", "assigned_to_others"),
        ("created by: ME", "created_by_me"),
    ],
)
def test_conditions_without_a_value(text: str, kind: str) -> None:
    assert one(text) == Condition(kind)  # type: ignore[arg-type]


def test_conditions_with_a_value() -> None:
    assert one("p1") == Condition("priority", 1)
    assert one("P4") == Condition("priority", 4)
    assert one("#Home office") == Condition("list", "Home office")
    assert one("##Work") == Condition("list_deep", "Work")
    assert one('#"Work, home & more"') == Condition("list", "Work, home & more")
    assert one(r'#"say \"hi\""') == Condition("list", 'say "hi"')
    assert one("@errands") == Condition("tag", "errands")
    assert one("assigned to: Bob@Example.com") == Condition("assigned_to", "bob@example.com")
    assert one("created by: a@b.c") == Condition("created_by", "a@b.c")
    assert one("search: milk and honey") == Condition("search", "milk and honey")
    assert one("due before: 2026-12-24") == Condition("due_before", "2026-12-24")
    assert one("due after:next monday") == Condition("due_after", "next monday")


def test_not_binds_tighter_than_and_than_or() -> None:
    today, overdue, work = Condition("today"), Condition("overdue"), Condition("list", "Work")
    assert one("today | overdue & #Work") == Or((today, And((overdue, work))))
    assert one("(today | overdue) & #Work") == And((Or((today, overdue)), work))
    assert one("!today & !!overdue") == And((Not(today), Not(Not(overdue))))
    assert one("p1 & p2 & p3") == And(
        (Condition("priority", 1), Condition("priority", 2), Condition("priority", 3))
    )


def test_groups_keep_their_text() -> None:
    assert parse(" today ,overdue & p1 ") == [
        Group("today", Condition("today")),
        Group("overdue & p1", And((Condition("overdue"), Condition("priority", 1)))),
    ]


def test_a_skeleton_has_the_shape_and_no_values() -> None:
    work, home = one("#Work & @a | p1"), one("#Home & @b | p2")
    assert work != home
    assert skeleton(work) == skeleton(home)
    assert values(work) == ["Work", "a", 1]


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("todayx", 0),
        ("p0", 0),
        ("p12", 0),
        ("& today", 0),
        ("today |", 7),
        ("((today)", 8),
        ("today)", 5),
        ("assigned to: ", 13),
        ("due before: never ever", 12),
        ('#"unclosed', 10),
        ("today, ,p1", 7),
    ],
)
def test_errors_name_the_position(text: str, position: int) -> None:
    with pytest.raises(FilterError) as raised:
        parse(text)
    assert raised.value.position == position
    assert str(raised.value).startswith(f"at position {position}: expected ")


@pytest.mark.parametrize("text", ["(" * 400 + "p1" + ")" * 400, "!" * 900 + "p1", "(!" * 60 + "p1"])
def test_nesting_deeper_than_50_is_refused(text: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse(text)
    assert "at most 50 levels" in str(raised.value)
    assert one("(" * 25 + "!" * 25 + "p1" + ")" * 25) is not None


def test_a_query_of_more_than_1000_characters_is_refused() -> None:
    with pytest.raises(FilterError):
        parse("p1 | " * 200 + "p1")


@given(st.lists(st.sampled_from(["today", "p1", "@a", "#L", "no date", "overdue"]), min_size=1))
def test_any_conditions_joined_read_back_as_them(conditions: list[str]) -> None:
    node = one(" | ".join(conditions))
    leaves = node.operands if isinstance(node, Or) else (node,)
    assert len(leaves) == len(conditions)


@given(st.text(alphabet=string.ascii_letters + string.digits + " ", min_size=1, max_size=40))
def test_any_search_text_without_operators_is_read_as_written(text: str) -> None:
    if not text.strip():
        return
    assert one(f"search: {text}") == Condition("search", text.strip())
