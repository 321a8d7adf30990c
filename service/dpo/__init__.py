"""The data-protection officer's read-only view: policies, retention, inventory, audit verification."""
