package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line is wrong
)

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitStatus is an error that sets its own exit status (run's, for
// scripts). Without err, there is nothing more to say.
type exitStatus struct {
	code int
	err  error
}

func (e exitStatus) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitStatus) Unwrap() error { return e.err }

// newRootCommand is the whole command line: liveiso and its subcommands. A
// new command is one more file with its constructor, added here.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "liveiso",
		Short: "make a bootable Linux CD image from a root file system directory",
		Long: "liveiso makes a bootable Linux CD image (ISO 9660, BIOS and UEFI, hybrid for USB sticks)\n" +
			"from a root file system in a directory, packed as the initrd, and keeps it live.",
		Version: version(),
		// Without a command: the help, as a usage error.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				msg := fmt.Sprintf("unknown command %q", args[0])
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					msg += fmt.Sprintf(" (did you mean %q?)", s[0])
				}
				return usageError{msg}
			}
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Usage()
			return usageError{"no command given"}
		},
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true, // keeps the man pages the same from build to build
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	// Defined here so that cobra does not take -v for it: -v reads as
	// verbose to many.
	root.Flags().Bool("version", false, "print the version of liveiso")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError{err.Error()}
	})
	root.SetHelpCommand(newHelpCommand())
	root.AddCommand(
		newBuildCommand(),
		newMountCommand(),
		newRunCommand(),
		newExecCommand(),
		newServeCommand(),
		newStatusCommand(),
		newCacheCommand(),
		newCompletionCommand(),
		newManCommand(),
	)
	return root
}

// execute runs the command line args (without the program's name) and
// returns the exit status. Errors are reported as "liveiso COMMAND: error".
func execute(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var es exitStatus
	if errors.As(err, &es) && es.err == nil {
		return es.code
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	switch {
	case errors.As(err, &es):
		return es.code
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitError
}

// exactArgs wants n positional arguments, named what in the message.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case len(args) == n:
			return nil
		case n == 0:
			return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
		}
		return usageError{fmt.Sprintf("want exactly %s", what)}
	}
}

// newHelpCommand replaces cobra's help command, which exits 0 after an
// unknown topic.
func newHelpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "show the help of liveiso or of a command",
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			if len(args) == 0 {
				for _, c := range cmd.Root().Commands() {
					if c.IsAvailableCommand() {
						names = append(names, cobra.CompletionWithDesc(c.Name(), c.Short))
					}
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := cmd.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return usageError{fmt.Sprintf("no help for %q", strings.Join(args, " "))}
			}
			// As when target itself runs: it lists --help (and --version).
			target.InitDefaultHelpFlag()
			target.InitDefaultVersionFlag()
			return target.Help()
		},
	}
}
