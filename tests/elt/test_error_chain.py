"""The lines `elt` prints and stores for a failure: one per exception of its chain, no repeats, no secrets."""

from elt.error_chain import describe_causes, exception_chain


class StepFailedError(Exception):
    def __init__(self, message: str, exception: BaseException) -> None:
        super().__init__(message)
        self.exception = exception


def _raise_chain() -> BaseException:
    try:
        try:
            raise KeyError("near_earth_objects")
        except KeyError as missing:
            raise ValueError("GET https://api.example/feed?api_key=abc123&start_date=2025-01-01: bad body") from missing
    except ValueError as cause:
        return StepFailedError("step=extract failed with exception:\n\n<class 'ValueError'>\n" + str(cause), cause)


def test_chain_follows_causes_context_and_dlt_exception_attribute():
    chain = exception_chain(_raise_chain())
    assert [type(error).__name__ for error in chain] == ["StepFailedError", "ValueError", "KeyError"]


def test_one_line_per_cause_without_repeats_or_secrets():
    assert describe_causes(_raise_chain()) == [
        "step=extract failed with exception:",
        "caused by ValueError: GET https://api.example/feed?api_key=***&start_date=2025-01-01: bad body",
        "caused by KeyError: 'near_earth_objects'",
    ]


def test_suppressed_context_is_left_out():
    try:
        try:
            raise KeyError("inner")
        except KeyError:
            raise RuntimeError("outer") from None
    except RuntimeError as error:
        assert describe_causes(error) == ["outer"]


def test_password_in_a_url_is_masked():
    error = RuntimeError("cannot connect to postgresql://loader:pa55word@db.example:5432/warehouse")
    assert describe_causes(error) == ["cannot connect to postgresql://loader:***@db.example:5432/warehouse"]


def test_a_message_less_exception_shows_its_type():
    assert describe_causes(TimeoutError()) == ["TimeoutError"]
