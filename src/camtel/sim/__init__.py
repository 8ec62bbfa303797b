"""Simulators: JT/T 808 dash cam fleet, Wi-Fi dash cam."""
