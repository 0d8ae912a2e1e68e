"""The French letter templates shipped with Guichet, written with python-docx (``shipped``)."""
