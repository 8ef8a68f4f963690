"""Accept: validate a submission, store the job and queue its first task (see ``state``)."""
