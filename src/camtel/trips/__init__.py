"""Trips and stops, position exports, reports and the daily digest."""
