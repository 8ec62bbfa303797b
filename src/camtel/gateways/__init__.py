"""Device-facing servers (TCP, HTTP, MQTT): framing, sessions, replies after durable writes."""
