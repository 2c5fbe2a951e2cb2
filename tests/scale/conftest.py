from tests.faults.conftest import pg_url

__all__ = ["pg_url"]  # the fixture, for these tests too
