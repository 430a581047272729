"""leaklab: measure file-descriptor leaks by FD type."""
