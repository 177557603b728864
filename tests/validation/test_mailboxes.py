"""The index of first rows behind duplicate-mailbox detection."""

from __future__ import annotations

from bulkmail.validation.mailboxes import FirstRows


def test_a_mailbox_seen_again_gives_its_first_row_whatever_the_case() -> None:
    seen = FirstRows()
    assert seen.first("Owner@corp.example", "Box@mail.example", 2) == 2
    assert seen.first("owner@CORP.example", "box@MAIL.example", 7) == 2
    assert seen.first("other@corp.example", "box@mail.example", 8) == 8  # another owner
    assert seen.first("", "box@mail.example", 9) == 9  # the run's user
    assert len(seen) == 3


def test_where_the_owner_ends_is_part_of_the_mailbox() -> None:
    seen = FirstRows()
    assert seen.first("a", "bc@mail.example", 2) == 2
    assert seen.first("ab", "c@mail.example", 3) == 3
    assert seen.first("", "abc@mail.example", 4) == 4


def test_every_mailbox_stays_found_as_the_index_grows() -> None:
    seen = FirstRows()
    count = 20_000  # the index starts with 1,024 slots: this grows it several times
    for number in range(count):
        assert seen.first("owner", f"box{number}@mail.example", number) == number
    assert [seen.first("OWNER", f"BOX{n}@mail.example", -1) for n in range(count)] == list(
        range(count)
    )
    assert len(seen) == count
