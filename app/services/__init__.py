"""Use cases: plain Python, no Qt. Views call these; these use ``app.models``."""
