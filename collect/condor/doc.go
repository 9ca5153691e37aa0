// Package condor holds the condor collector: condorjob documents for the
// jobs of condor_q and, since the previous run, of condor_history (finished
// jobs, Delta documents behind a checkpoint per schedd), and condorqueue
// summaries. Ads are streamed, never held whole, so a pool of 200,000 jobs
// costs a few MiB. Programs run through internal/extcmd. Its settings are
// in sample.yaml.
package condor
