"""The job store: Redis records of jobs, batches, listings and label sets (see ``jobs``)."""
