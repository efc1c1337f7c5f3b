"""Operations: draining on SIGTERM, structured logs, optional tracing."""
