"""The employee web page: templates, static files, pasted-text parsing and the security middleware."""
