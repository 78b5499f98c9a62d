"""The edge: process start, configuration, wiring and channels."""
