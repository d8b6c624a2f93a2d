package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/liveiso/liveiso/agent"
	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/generation"
)

// agentImage is what the guest agent adds to an image: its initrd member
// and the kernel's rdinit=.
type agentImage struct {
	// unpackedBytes is what the agent takes in the guest's memory once
	// unpacked; set when the builder has made the member.
	unpackedBytes int64
}

// withAgent puts the agent into the image options o: one more initrd
// member, made from this very binary (it must be static), and rdinit= on
// the kernel command line, which becomes appendLine.
func withAgent(o *generation.Options, a *agentImage) error {
	if o.IsolinuxCfg != "" {
		return usageError{"the guest agent needs rdinit= on the kernel command line, which liveiso cannot add to your own --isolinux-cfg"}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	cacheDir := o.Initramfs.CacheDir
	o.ExtraMembers = func(c cache.Compression) ([]cache.Member, error) {
		m, unpacked, err := agent.Member(agent.MemberOptions{Exe: exe, Compression: c, CacheDir: cacheDir})
		if err != nil {
			return nil, err
		}
		a.unpackedBytes = unpacked
		return []cache.Member{m}, nil
	}
	o.Append = agentAppend(o.Append)
	return nil
}

// agentAppend is the kernel command line line with the agent started
// first. A rdinit= of the user's names the init the agent hands over to
// (liveiso.init=, which the kernel passes to the agent in its environment).
func agentAppend(line string) string {
	words := strings.Fields(line)
	out := []string{agent.KernelArgs()}
	for i, w := range words {
		if w == "--" {
			// The rest goes to init as it is.
			out = append(out, words[i:]...)
			break
		}
		if v, ok := strings.CutPrefix(w, "rdinit="); ok {
			out = append(out, agent.InitEnv+"="+v)
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}
