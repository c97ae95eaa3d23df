"""The job ledger (`kmsg_jobs`) and the two sides that use it (docs/recovery.md).

- `enqueue`: rows become validated messages and jobs (send-many, `queue add`);
- `worker`: claims jobs and sends them exactly once (send-many, `queue process`);
- `ledger`: one request's life in the ledger, shared with `kmsg send`;
- `codec`: a message as job data and back;
- `outcomes`: what became of the rows, read back (a job's outcome, the batch's state);
- `rate`: `--rate`, shared by a run's worker threads.
"""
