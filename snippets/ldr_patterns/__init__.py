"""Reference implementations of LDR's cleanup patterns, as shown on the handbook's pages."""
