package main

import (
	"github.com/liveiso/liveiso/httpserve"
	"github.com/spf13/cobra"
)

// serveFlags are serve's command line.
type serveFlags struct {
	image imageFlags
	logs  logFlags
	http  httpFlags
}

func newServeCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --rootfs DIR [flags]",
		Short: "serve the live image over HTTP (iPXE netboot), rebuilt whenever the rootfs changes",
		Long: "Serves the live image over HTTP until interrupted: /boot.ipxe and /sanboot.ipxe for iPXE,\n" +
			"/image.iso, /vmlinuz and /initrd.img (redirects to the current generation's /g/ URLs),\n" +
			"/status.json and a page at /. Needs no FUSE and no root.",
		Args: exactArgs(0, ""),
		RunE: func(_ *cobra.Command, _ []string) error { return runServe(f) },
	}
	fs := cmd.Flags()
	f.image.register(fs)
	f.logs.register(fs)
	f.http.register(fs, httpserve.DefaultAddr,
		"`HOST:PORT` to serve on; another address than loopback lets others read every file of the rootfs")
	return cmd
}

func runServe(f serveFlags) error {
	opts, err := f.image.options()
	if err != nil {
		return err
	}
	if err := f.http.check(); err != nil {
		return err
	}
	out, err := f.logs.output(false)
	if err != nil {
		return err
	}
	return serveUntilSignal(daemonOptions{image: opts, http: f.http}, out)
}
