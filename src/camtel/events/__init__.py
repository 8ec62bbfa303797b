"""Events: what happened to a device (fence crossed, alarm, overspeed...), stored and listed."""
