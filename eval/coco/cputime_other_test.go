//go:build !unix

package coco

import "time"

// processCPU is not measured on this system.
func processCPU() time.Duration { return 0 }
