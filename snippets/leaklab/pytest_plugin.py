"""pytest plugin entry point for leaklab (the ``fd_canary`` fixture lives here)."""
