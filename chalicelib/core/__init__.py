"""What every flow shares: store, chain, leases, errors, clock, settings, auth."""
