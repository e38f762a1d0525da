"""调解组织: the registry of mediation organisations (a profile on a unit) and the coverage of the
villages and communities by their 村（居）人民调解委员会."""
