"""Tests of what only the HTTP server needs."""
