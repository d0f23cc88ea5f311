"""Shared test support: README runner, `eventually`, and types the tests share."""
