"""What clients download to fill in reports: the taxonomy and the area list, with ETags."""
