import pytest

from tests.support.databases import OBS_DATABASE_URL
from tests.support.servers import migrated_database


@pytest.fixture(scope="session")
def served_database_url():
    """A migrated, emptied database for app servers the tests start as separate processes
    (their writes are committed, so they must not land in the suite's own test database)."""
    return migrated_database(OBS_DATABASE_URL, empty=True)
