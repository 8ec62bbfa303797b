"""camtel: open-source camera telematics."""

__version__ = "0.1.0"
