//go:build unix

package coco_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user + system) the process has used, over
// all threads; benchmarks report it per image, a figure that other jobs on
// the machine disturb less than wall-clock throughput.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
