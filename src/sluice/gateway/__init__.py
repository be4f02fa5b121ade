"""The governed gateway: every use of shared data goes through one door (issue 5; rule 1 so far)."""
