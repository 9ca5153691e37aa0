package condor

import (
	"fmt"
	"time"
)

// Validate checks the settings at parse time: a mistake is a usage error
// before anything runs, not a failed collector.
func (c Condor) Validate() error {
	if _, err := parseQueues(c.Queues); err != nil {
		return err
	}
	if _, err := ownerConstraint(c.ExcludeOwner); err != nil {
		return err
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("--condor-timeout must be positive, got %s", c.Timeout)
	}
	if c.HistorySince <= 0 {
		return fmt.Errorf("--condor-history-since must be positive, got %s", c.HistorySince)
	}
	return nil
}

// Budget is the collector's own deadline, which must fall within the
// run's --collector-timeout: a hung call is then reported as condor's
// rather than the whole collector being given up.
func (c Condor) Budget() (string, time.Duration) { return "--condor-timeout", c.Timeout }
