package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newCompletionCommand writes a shell's completion script. The scripts ask
// liveiso itself (its hidden __complete command) what to complete, so they
// stay right as commands and flags are added.
func newCompletionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "write the shell completion script for bash, zsh or fish",
		Long: `Writes the completion script for the shell to standard output. To load it:

  bash: source <(liveiso completion bash), or save it as
        /usr/share/bash-completion/completions/liveiso
  zsh:  liveiso completion zsh > "${fpath[1]}/_liveiso"
  fish: liveiso completion fish > ~/.config/fish/completions/liveiso.fish`,
		ValidArgs:             []string{"bash", "zsh", "fish"},
		Args:                  exactArgs(1, "one SHELL: bash, zsh or fish"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			}
			return usageError{fmt.Sprintf("shell %q: want bash, zsh or fish", args[0])}
		},
	}
}
