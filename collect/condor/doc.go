// Package condor holds the condor collector: condorjob documents for the
// jobs of condor_q and, since the previous run, of condor_history (finished
// jobs, Delta documents behind a checkpoint per schedd), and condorqueue
// summaries. Under --condor-global each schedd of the pool is asked by
// name, a few at a time. Ads are streamed, never held whole, so a pool of
// 200,000 jobs costs a few MiB; the documents of one program's answer
// share a document.Answer, voided when the program fails. Programs run
// through internal/extcmd. Its settings are in sample.yaml.
//
// The files: condor.go (the settings and one collection), validate.go
// (the settings' checks), schedd.go (one schedd: its listing and queue
// counts), history.go (finished jobs and the checkpoints), query.go
// (running a condor tool and reading its ads), scan.go (cutting condor's
// -json output into ads), parse.go (reading one ad), number.go (its
// numbers, range-checked and saturating) and job.go (a job's values in
// a document).
package condor
