"""Scripts: the demo (the main job) and helpers that start the service for clients, benchmarks and tests."""
