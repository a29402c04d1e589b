import pytest

from tests.support.servers import migrated_database

OBS_DATABASE = "activelog_obs_test"
OBS_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{OBS_DATABASE}"


@pytest.fixture(scope="session")
def served_database_url():
    """A migrated, emptied database for app servers the tests start as separate processes
    (their writes are committed, so they must not land in the suite's own test database)."""
    return migrated_database(OBS_DATABASE_URL, empty=True)
