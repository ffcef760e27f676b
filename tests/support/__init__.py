"""Helpers shared by tests (brokers, topics); imported as ``tests.support``."""
