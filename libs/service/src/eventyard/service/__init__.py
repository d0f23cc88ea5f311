"""The runtime shared by Eventyard reference services."""
