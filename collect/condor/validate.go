package condor

import (
	"fmt"
	"time"
)

// maxParallel bounds --condor-parallel: each schedd asked at once is a
// condor_q process.
const maxParallel = 64

// Validate checks the settings at parse time: a mistake is a usage error
// before anything runs, not a failed collector.
func (c Condor) Validate() error {
	if _, err := parseQueues(c.Queues); err != nil {
		return err
	}
	if _, err := excludedOwners(c.ExcludeOwner); err != nil {
		return err
	}
	switch {
	case c.Timeout <= 0:
		return fmt.Errorf("--condor-timeout must be positive, got %s", c.Timeout)
	case c.HistorySince <= 0:
		return fmt.Errorf("--condor-history-since must be positive, got %s", c.HistorySince)
	case c.Parallel < 0 || c.Parallel > maxParallel:
		return fmt.Errorf("--condor-parallel must be between 1 and %d, got %d", maxParallel, c.Parallel)
	case c.HistoryScanLimit < 0:
		return fmt.Errorf("--condor-history-scan-limit must be positive, got %d", c.HistoryScanLimit)
	}
	return nil
}

// Budget is the collector's own deadline, which must fall within the
// run's --collector-timeout: a hung call is then reported as condor's
// rather than the whole collector being given up.
func (c Condor) Budget() (string, time.Duration) { return "--condor-timeout", c.Timeout }
