"""Project scripts (contract compiler, deploy packaging); not deployed."""
