"""Tests of the LLM client, structured output, the breaker and a real llama.cpp server."""
