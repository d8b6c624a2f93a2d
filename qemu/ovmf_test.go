package qemu

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindOVMF(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	codeOnly := OVMF{Code: write("CODE_A.fd", "a"), Vars: filepath.Join(dir, "VARS_A.fd")}
	both := OVMF{Code: write("CODE_B.fd", "b"), Vars: write("VARS_B.fd", "vars")}
	got, err := FindOVMF([]OVMF{codeOnly, both})
	if err != nil || got != both {
		t.Fatalf("FindOVMF = %+v, %v; want %+v", got, err, both)
	}

	_, err = FindOVMF([]OVMF{codeOnly})
	if !errors.Is(err, ErrNoOVMF) || !strings.Contains(err.Error(), "package ovmf") || !strings.Contains(err.Error(), codeOnly.Vars) {
		t.Errorf("FindOVMF without vars: %v; want ErrNoOVMF naming the package and the paths", err)
	}

	priv := t.TempDir()
	p, err := both.PrivateVars(priv)
	if err != nil {
		t.Fatal(err)
	}
	if p.Code != both.Code || filepath.Dir(p.Vars) != priv {
		t.Fatalf("PrivateVars = %+v", p)
	}
	if b, err := os.ReadFile(p.Vars); err != nil || string(b) != "vars" {
		t.Errorf("private vars: %q, %v", b, err)
	}
	// The firmware writes the copy, never the original.
	if err := os.WriteFile(p.Vars, []byte("written"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(both.Vars); string(b) != "vars" {
		t.Errorf("original vars changed to %q", b)
	}
}
