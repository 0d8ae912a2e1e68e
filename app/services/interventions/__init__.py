"""Intervention requests (ISIS): taking them, their deadlines, the planning board, the report."""
