"""The prevention service's dashboard: the release calendar and budget, a week's map and table,
series over the weeks opened, alerts explained, and the CSV, all from the signals' own services."""
