package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/spf13/pflag"

	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/live"
)

// What liveiso says on stderr, one design for every command:
//
//   - For a person at a terminal (--log-format human, the default when
//     stderr is a terminal, and always run's), short lines: the first
//     generation, each new one with its time and chunks, where it is
//     served, warnings and errors ("liveiso: generation 2 ready in 33 ms
//     (1 of 2 chunks)"). The packages' log records show only from
//     warnings up, as lines of the same kind; -v shows them all.
//   - For machines (--log-format text or json, the default when stderr is
//     not a terminal): log/slog records, from Info up (Debug with -v),
//     with stable keys a user may grep (generation, path, chunks_rebuilt,
//     ms). The people's lines are not printed: the records say the same.
//
// --quiet leaves warnings and errors only.

// Values of --log-format.
const (
	logAuto  = "auto"
	logHuman = "human"
	logText  = "text"
	logJSON  = "json"
)

// logFlags choose what the command says and how.
type logFlags struct {
	quiet, verbose bool
	format         string
}

func (l *logFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&l.quiet, "quiet", false, "log only warnings and errors")
	fs.BoolVarP(&l.verbose, "verbose", "v", false, "log debugging detail")
	fs.StringVar(&l.format, "log-format", logAuto, "human (short lines), text or json (log records); auto: human on a terminal, else text")
}

// output is how a command talks to its user: log records, and in the
// human format lines for people (say).
type output struct {
	log   *slog.Logger
	human bool
	quiet bool
	w     io.Writer
}

// say prints a line for people, in the human format.
func (o output) say(format string, args ...any) {
	if o.human && !o.quiet {
		fmt.Fprintf(o.w, "liveiso: "+format+"\n", args...)
	}
}

// output makes the command's output on stderr. humanByDefault makes auto
// mean human also when stderr is not a terminal (run: its lines are its
// interface, scripts read them).
func (l *logFlags) output(humanByDefault bool) (output, error) {
	return l.outputTo(os.Stderr, humanByDefault || isTerminal(os.Stderr))
}

func (l *logFlags) outputTo(w io.Writer, autoHuman bool) (output, error) {
	o := output{quiet: l.quiet, w: w}
	level := slog.LevelInfo
	switch l.format {
	case logAuto:
		o.human = autoHuman
	case logHuman:
		o.human = true
	case logText, logJSON:
	default:
		return o, usageError{fmt.Sprintf("--log-format %q: want human, text, json or auto", l.format)}
	}
	if o.human {
		level = slog.LevelWarn
	}
	switch {
	case l.verbose:
		level = slog.LevelDebug
	case l.quiet:
		level = slog.LevelWarn
		if o.human {
			level = slog.LevelError
		}
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch {
	case o.human:
		o.log = slog.New(newHumanHandler(w, level))
	case l.format == logJSON:
		o.log = slog.New(slog.NewJSONHandler(w, hopts))
	default:
		o.log = slog.New(slog.NewTextHandler(w, hopts))
	}
	return o, nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// report is the daemon's subscriber that tells the user of each new
// generation: a line for people, and its warnings, once each (a warning
// the generation before had already is not repeated).
type report struct {
	out      output
	lines    bool // a line per generation (the command prints none of its own)
	warnings []generation.Warning
}

func newReport(out output, lines bool) *report { return &report{out: out, lines: lines} }

// generation is the live.Daemon subscriber.
func (r *report) generation(s *live.Snapshot) {
	st := s.Status
	s.Release()
	if r.lines {
		r.out.say("%s", generationLine(st))
	}
	for _, w := range st.Warnings {
		if !slices.Contains(r.warnings, w) {
			r.out.log.Warn(w.Message, "source", w.Source, "generation", st.Generation)
		}
	}
	r.warnings = st.Warnings
}

// generationLine is how a generation is reported to people.
func generationLine(st live.Status) string {
	return fmt.Sprintf("generation %d ready in %d ms (%d of %d chunks)", st.Generation, st.BuildMs, st.ChunksRebuilt, st.ChunksTotal)
}
