package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// InterruptExitCode is the exit status after a second interrupt, the
// shell's code for death by SIGINT (128+2).
const InterruptExitCode = 130

// WithInterrupt returns a context that the first SIGINT or SIGTERM
// cancels, so that Runner.Train finishes the current step, saves a
// checkpoint and returns ErrInterrupted. The first signal also prints to w
// what is happening; a second signal exits the process at once with
// InterruptExitCode, for a user who cannot wait for the step to end. Call
// stop when training is over to restore the default signal behaviour.
func WithInterrupt(parent context.Context, w io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			fmt.Fprintf(w, "\n%v: finishing the current step and saving a checkpoint (send it again to quit at once)\n", s)
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-ch:
			fmt.Fprintf(w, "\n%v again: quitting without a checkpoint\n", s)
			os.Exit(InterruptExitCode)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
}
