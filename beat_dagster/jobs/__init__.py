"""Jobs that are not batch materializations: requests from the launchpad, housekeeping."""
