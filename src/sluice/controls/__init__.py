"""Dual control (双人复核): critical actions one person asks for and a second person, of another role, confirms."""
