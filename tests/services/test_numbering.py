import threading

import pytest

from app.models.database import Database
from kernel.numbering import Series, format_number, next_counter, next_number


def test_series_count_per_agency_and_year(db: Database) -> None:
    with db.session() as session, session.begin():
        assert next_number(session, "101", Series.WORKS_QUOTE, 2026) == "DV101-2026-000001"
        assert next_number(session, "101", Series.WORKS_QUOTE, 2026) == "DV101-2026-000002"
        assert next_counter(session, "101", Series.WORKS_QUOTE, 2027) == 1
        assert next_counter(session, "102", Series.WORKS_QUOTE, 2026) == 1
        assert next_counter(session, "101", Series.RECEIPT, 2026) == 1


def test_a_rolled_back_number_is_given_again(db: Database) -> None:
    with db.session() as session:
        assert next_counter(session, "101", Series.RECEIPT, 2026) == 1
        session.rollback()
    with db.session() as session, session.begin():
        assert next_counter(session, "101", Series.RECEIPT, 2026) == 1


def test_two_desks_at_once_get_distinct_numbers_without_gaps(db: Database) -> None:
    got: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def desk() -> None:
        try:
            for _ in range(15):
                with db.session() as session, session.begin():
                    value = next_counter(session, "101", Series.INTERVENTION, 2026)
                    with lock:
                        got.append(value)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=desk) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(got) == list(range(1, 46))


def test_number_format() -> None:
    assert format_number(Series.RECEIPT, "101", 2026, 7) == "RC101-2026-000007"
    with pytest.raises(KeyError):
        format_number(Series.ACCOUNT, "101", 2026, 1)
