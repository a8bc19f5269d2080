"""A workload unlike the sample app, for the audit: fan-out, a run stuck retrying, child chains, continue-as-new,
signals and a rejected update, served by three worker processes instrumented three ways."""
