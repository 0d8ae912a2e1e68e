"""The Synchronisation page and the link to the central server it uses."""
