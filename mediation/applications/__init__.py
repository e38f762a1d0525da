"""网上申请调解: the public form through which a party applies for mediation (issue 15)."""
