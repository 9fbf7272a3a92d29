"""End-to-end tests: the action's container image under ``docker run`` and action.yml under ``act``."""
