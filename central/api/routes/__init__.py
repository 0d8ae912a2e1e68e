"""The API's routers; ``central.api.create_app`` mounts them (and any given by later modules)."""
