"""Word letters: templates with merge fields (docxtpl), one letter from the customer file,
batches for printing; every letter is kept exactly as issued."""
