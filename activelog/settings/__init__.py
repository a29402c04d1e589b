"""ActiveLog settings, read from the environment (django-environ) with embedded defaults, so a
fresh checkout runs with no services at all: SQLite, local-memory cache, media on the local disk.
Setting DATABASE_URL / REDIS_URL / AWS_STORAGE_BUCKET_NAME / CELERY_BROKER_URL switches the real
components on, and DJANGO_ENV=production turns on the strict profile, where the secrets have no
defaults. The README's variable table lists every variable.

One module per concern, assembled here in order; environment.py reads DJANGO_ENV (and .env when
DJANGO_READ_DOT_ENV_FILE is set) for all the others.
"""

# isort: off
# In this order: where a module reads variables another one checks, the check comes first.
from .environment import *  # noqa: F403
from .security import *  # noqa: F403
from .core import *  # noqa: F403
from .database import *  # noqa: F403
from .cache import *  # noqa: F403
from .api import *  # noqa: F403
from .celery import *  # noqa: F403
from .storage import *  # noqa: F403
from .operations import *  # noqa: F403
from .web import *  # noqa: F403
from .logging import *  # noqa: F403
# isort: on
