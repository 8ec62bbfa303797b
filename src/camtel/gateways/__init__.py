"""Device gateways: asyncio TCP, HTTP and MQTT servers with per-connection sessions."""
