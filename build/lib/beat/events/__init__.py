"""Events leave through the transactional outbox; the relay publishes them with kombu."""
