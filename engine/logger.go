package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Logger writes the run's records: one JSON object per line to log.jsonl,
// the same as text to log.txt and to the console, and a progress bar on a
// terminal.
type Logger struct {
	jsonl, text *os.File
	console     io.Writer
	bar         *progressbar.ProgressBar
	tty         bool
}

// NewLogger opens (appending, so a resumed run continues them) the log
// files in workDir and writes console lines to console.
func NewLogger(workDir string, console io.Writer) (*Logger, error) {
	jsonl, err := os.OpenFile(filepath.Join(workDir, "log.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	text, err := os.OpenFile(filepath.Join(workDir, "log.txt"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		jsonl.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	l := &Logger{jsonl: jsonl, text: text, console: console}
	if f, ok := console.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		l.tty = true
	}
	return l, nil
}

// Close closes the log files.
func (l *Logger) Close() error {
	l.endBar()
	e1 := l.jsonl.Close()
	e2 := l.text.Close()
	if e1 != nil {
		return e1
	}
	return e2
}

// Record is one log entry; Values holds the numbers (losses, lr, metrics).
type Record struct {
	Mode   string // "train", "val" or "test"
	Epoch  int
	Iter   int
	Values map[string]float64
}

// Write appends r to log.jsonl and log.txt and prints it.
func (l *Logger) Write(r Record) error {
	obj := map[string]any{"mode": r.Mode, "epoch": r.Epoch, "iter": r.Iter, "time": time.Now().UTC().Format(time.RFC3339)}
	keys := make([]string, 0, len(r.Values))
	for k, v := range r.Values {
		keys = append(keys, k)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			obj[k] = nil // JSON has no NaN
		} else {
			obj[k] = v
		}
	}
	sort.Strings(keys)
	b, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("engine: log: %w", err)
	}
	if _, err := l.jsonl.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("engine: log: %w", err)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "%s %s epoch %d iter %d", time.Now().Format("2006-01-02 15:04:05"), r.Mode, r.Epoch, r.Iter)
	for _, k := range keys {
		fmt.Fprintf(&s, "  %s: %s", k, formatValue(k, r.Values[k]))
	}
	s.WriteByte('\n')
	if _, err := l.text.WriteString(s.String()); err != nil {
		return fmt.Errorf("engine: log: %w", err)
	}
	l.Printf("%s", s.String())
	return nil
}

func formatValue(k string, v float64) string {
	switch {
	case k == "lr" || strings.HasSuffix(k, "_lr"):
		return fmt.Sprintf("%.4e", v)
	case k == "memory":
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4f", v)
}

// Printf prints a console line, above the progress bar if one is showing.
func (l *Logger) Printf(format string, args ...any) {
	if l.bar != nil {
		l.bar.Clear()
	}
	fmt.Fprintf(l.console, format, args...)
}

// StartBar begins a progress bar of n steps described by desc (terminal only).
func (l *Logger) StartBar(n int, desc string) {
	l.endBar()
	if !l.tty {
		return
	}
	l.bar = progressbar.NewOptions(n,
		progressbar.OptionSetWriter(l.console),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// StepBar advances the bar by one step and updates its description.
func (l *Logger) StepBar(desc string) {
	if l.bar == nil {
		return
	}
	if desc != "" {
		l.bar.Describe(desc)
	}
	l.bar.Add(1)
}

func (l *Logger) endBar() {
	if l.bar != nil {
		l.bar.Finish()
		l.bar = nil
	}
}
