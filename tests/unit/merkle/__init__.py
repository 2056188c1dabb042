"""Tests of calea.store.merkle."""
