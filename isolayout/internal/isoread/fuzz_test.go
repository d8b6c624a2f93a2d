package isoread_test

import (
	"bytes"
	"io/fs"
	"testing"
	"time"

	"github.com/liveiso/liveiso/isolayout"
	"github.com/liveiso/liveiso/isolayout/internal/isoread"
)

// seedImage is a small image with every kind of record the reader knows:
// Rock Ridge with a continuation area, a symlink, a device, El Torito.
func seedImage(f testing.TB, bootable bool) []byte {
	date := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	loader := bytes.Repeat([]byte{0x90}, 2048)
	root := &isolayout.Node{Mode: fs.ModeDir | 0o755, Children: []*isolayout.Node{
		{Name: "boot", Mode: fs.ModeDir | 0o755, Children: []*isolayout.Node{
			{Name: "isolinux.bin", Mode: 0o444, Size: int64(len(loader)), Source: bytes.NewReader(loader)},
		}},
		{Name: "a-rather-long-name-" + string(bytes.Repeat([]byte("n"), 200)), Mode: fs.ModeSymlink | 0o777,
			Target: string(bytes.Repeat([]byte("dir/"), 100)) + "end"},
		{Name: "null", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, DevMajor: 1, DevMinor: 3},
		{Name: "hello.txt", Mode: 0o644, Size: 6, Source: bytes.NewReader([]byte("hello\n"))},
	}}
	in := isolayout.Input{VolumeID: "SEED", Date: date, Root: root}
	if bootable {
		in.ElTorito = &isolayout.ElTorito{CatalogPath: "boot/boot.cat", LoaderPath: "boot/isolinux.bin", Loader: loader, BootInfoTable: true}
	}
	l, err := isolayout.Plan(in)
	if err != nil {
		f.Fatal(err)
	}
	img := make([]byte, l.Size())
	if _, err := l.ReadAt(img, 0); err != nil {
		f.Fatal(err)
	}
	return img
}

// systemArea is the 16 sectors before the first volume descriptor, which
// the reader ignores: the fuzzer's input is the image after them, so that
// its mutations land on bytes that matter.
const systemArea = 16 * 2048

// FuzzRead gives the reader arbitrary bytes: it must return an image or an
// error, never panic, hang or allocate beyond what the image can describe.
func FuzzRead(f *testing.F) {
	good := seedImage(f, true)
	f.Add(good[systemArea:])
	f.Add(seedImage(f, false)[systemArea:])
	f.Add(good[systemArea : 18*2048]) // cut after the boot record
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, tail []byte) {
		if len(tail) > 1<<20 {
			return
		}
		data := append(make([]byte, systemArea, systemArea+len(tail)+2048), tail...)
		if pad := len(data) % 2048; pad != 0 {
			data = append(data, make([]byte, 2048-pad)...)
		}
		img, err := isoread.Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		var walk func(f *isoread.File)
		walk = func(f *isoread.File) {
			if !f.IsDir && f.Size <= int64(len(data)) {
				if _, err := img.Data(f); err != nil {
					return
				}
			}
			for _, c := range f.Children {
				walk(c)
			}
		}
		walk(img.Root)
	})
}

// TestReadSeed checks that the seeds are images the reader accepts, so that
// the fuzzer starts from valid images rather than from the first error.
func TestReadSeed(t *testing.T) {
	for _, bootable := range []bool{false, true} {
		data := seedImage(t, bootable)
		img, err := isoread.Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("bootable %v: %v", bootable, err)
		}
		if (img.CatalogLBA != 0) != bootable || len(img.Root.Children) != 4 {
			t.Fatalf("bootable %v: catalog at %d, %d entries in /", bootable, img.CatalogLBA, len(img.Root.Children))
		}
		for _, c := range img.Root.Children {
			if c.Name == "hello.txt" {
				if b, err := img.Data(c); err != nil || string(b) != "hello\n" {
					t.Fatalf("hello.txt: %q, %v", b, err)
				}
			}
		}
	}
}
