"""Jobs that are not asset materializations: housekeeping."""
