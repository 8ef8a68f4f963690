"""Complete: record results; the last one ends the job and makes its webhook due."""
