"""What only the HTTP server needs: access, rate limits, metrics, logs, draining, housekeeping, admin."""
