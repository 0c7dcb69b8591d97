"""WSGI entry of the ops tests: `wsgi.py` plus config overrides from HUB_TEST_OVERRIDES (JSON).

Only what the environment cannot say today (e.g. RATELIMIT_KEY_PREFIX, so each test
module has its own keys in the shared Redis); the rest comes from the same variables as production.
"""

import json
import os

from app import create_app
from app.extensions import db

app = create_app(**json.loads(os.environ.get("HUB_TEST_OVERRIDES") or "{}"))

with app.app_context():
    db.engine.dispose()  # gunicorn --preload forks after this: no pooled connection is shared by workers
