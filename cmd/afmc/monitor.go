package main

import (
	"github.com/atlas-af/afmc/format/prom"
	"github.com/atlas-af/afmc/runner"
)

// Monitoring is how a site watches afmc and its figures on its own
// Prometheus, and how the central dashboard tells a broken collector from
// a quiet node.
type Monitoring struct {
	TextfileDir string `placeholder:"DIR" type:"path" help:"Write afmc.prom there each run, for node_exporter's textfile collector (its --collector.textfile.directory): the users, jobs and hubs figures and afmc's own health."`
	SelfReport  bool   `help:"Add a document of kind afmc about the run itself: each collector's outcome, documents by kind, the spool's backlog."`
}

// probeTextfileDir tells whether a run could write its textfile in dir,
// leaving nothing there.
func probeTextfileDir(dir string) error {
	d, err := prom.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Probe(runner.TextfileName)
}
