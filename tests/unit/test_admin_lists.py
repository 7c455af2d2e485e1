"""Lists and aliases: destinations de-duplicated, the member cap decided by pure functions."""

from __future__ import annotations

import pytest

from facteur.admin.aliases import (
    check_cap,
    dedupe,
    exceeds_cap,
    join_goto,
    normalize_members,
    split_goto,
)
from facteur.errors import FacteurError


def test_goto_round_trip():
    members = ["a@example.org", "b@elsewhere.net"]
    assert join_goto(members) == "a@example.org,b@elsewhere.net"
    assert split_goto(join_goto(members)) == members


def test_split_goto_tolerates_spaces_and_empties():
    assert split_goto(" a@x.org , b@x.org,,") == ["a@x.org", "b@x.org"]
    assert split_goto("") == []


def test_dedupe_keeps_first_order():
    assert dedupe(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_members_are_normalised_then_deduplicated():
    assert normalize_members(["Alice@Example.org", "alice@example.org", "bob@x.org"]) == [
        "alice@example.org",
        "bob@x.org",
    ]


def test_invalid_member_is_refused():
    with pytest.raises(FacteurError, match="not-an-address"):
        normalize_members(["alice@example.org", "not-an-address"])


@pytest.mark.parametrize(
    "count, limit, over", [(19, 20, False), (20, 20, False), (21, 20, True), (2, 1, True)]
)
def test_exceeds_cap(count, limit, over):
    assert exceeds_cap(count, limit) is over


def test_twenty_members_fit():
    check_cap("team@example.org", [f"m{i}@example.org" for i in range(20)], 20)


def test_twenty_first_member_gives_the_agreed_message():
    members = [f"m{i}@example.org" for i in range(21)]
    with pytest.raises(FacteurError) as info:
        check_cap("team@example.org", members, 20)
    assert info.value.message == (
        "list team@example.org would have 21 members; the limit is 20 (limits.max_list_members)"
    )


def test_duplicates_do_not_count_towards_the_cap():
    members = normalize_members([f"m{i % 20}@example.org" for i in range(40)])
    check_cap("team@example.org", members, 20)
