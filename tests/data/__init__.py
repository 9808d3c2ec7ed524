"""Tests of labelloop.data."""
