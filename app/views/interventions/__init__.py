"""Interventions (ISIS): the list of requests, the request editor, the technician's report, the
planning board, and the customer file's tab."""
