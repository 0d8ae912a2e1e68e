"""PySide6 screens. They call services and never open database sessions themselves."""
