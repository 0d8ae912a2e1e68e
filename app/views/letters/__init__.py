"""Screens of Word letters: the customer file's Courriers tab, the letter dialog, batches."""
