"""The LLM: the OpenAI-compatible client, structured output with re-asks, breaker, prompts, few-shot rows."""
