"""调解员: the people who mediate, their units, training records, and the cases they handle."""
