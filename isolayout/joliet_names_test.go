package isolayout

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBaseJolietName(t *testing.T) {
	n := func(c string, k int) string { return strings.Repeat(c, k) }
	for _, c := range []struct {
		name   string
		dir    bool
		long   bool
		want   string
		reason string // a substring of the reason; "" means none
	}{
		{"README", false, false, "README", ""},
		{"Mixed.Case.Name.tar.gz", false, false, "Mixed.Case.Name.tar.gz", ""},
		{"with spaces & odd #chars!.txt", false, false, "with spaces & odd #chars!.txt", ""},
		{"ünïcödé ñame.txt", false, false, "ünïcödé ñame.txt", ""},
		{".bashrc", false, false, ".bashrc", ""},
		{"x.y.", false, false, "x.y.", ""},
		// 64 characters plus the dot fit; 66 do not.
		{n("n", 60) + ".txt", false, false, n("n", 60) + ".txt", ""},
		{n("n", 61) + ".txt", false, false, n("n", 61) + ".txt", ""},
		{n("n", 62) + ".txt", false, false, n("n", 61) + ".txt", "longer than 64"},
		{n("n", 64), false, false, n("n", 64), ""},
		{n("n", 70), false, false, n("n", 64), "longer than 64"},
		// A long extension gives way, but keeps three characters.
		{n("n", 70) + "." + n("e", 10), false, false, n("n", 61) + ".eee", "longer than 64"},
		{n("n", 10) + "." + n("e", 70), false, false, n("n", 10) + "." + n("e", 54), "longer than 64"},
		{n("n", 70), false, true, n("n", 70), ""},
		{n("n", 110), false, true, n("n", 103), "longer than 103"},
		// Directories have no extension: cut at the limit.
		{n("D", 70), true, false, n("D", 64), "longer than 64"},
		{n("d", 60) + ".dir.x", true, false, n("d", 60) + ".dir", "longer than 64"},
		// Forbidden characters and characters outside UCS-2 become "_".
		{`a:b*c?d;e\f.txt`, false, false, "a_b_c_d_e_f.txt", "forbids"},
		{"tab\there", false, false, "tab_here", "forbids"},
		{"emoji😀x.txt", false, false, "emoji_x.txt", "outside UCS-2"},
		{"bad\xffutf8", false, false, "bad_utf8", "outside UCS-2"},
	} {
		max := JolietChars
		if c.long {
			max = JolietLongChars
		}
		got := baseJolietName(c.name, c.dir, max)
		if got.String() != c.want {
			t.Errorf("%q (dir %v, max %d): %q, want %q", c.name, c.dir, max, got.String(), c.want)
		}
		if c.reason == "" && got.reason != "" || !strings.Contains(got.reason, c.reason) {
			t.Errorf("%q: reason %q, want one with %q", c.name, got.reason, c.reason)
		}
	}
}

func TestUniqueJolietNames(t *testing.T) {
	long := strings.Repeat("A Very Long Mixed-Case Name", 5)
	for _, c := range []struct {
		names []string
		dirs  []bool
		want  []string
	}{
		{[]string{"a", "b"}, []bool{false, false}, []string{"a", "b"}},
		// Every name of a collision is numbered, from 0, keeping the extension.
		{[]string{long + ".TxT", long + "x.TxT"}, []bool{false, false},
			[]string{long[:60] + "0.TxT", long[:60] + "1.TxT"}},
		{[]string{"dup:", "dup?"}, []bool{false, false}, []string{"dup_0", "dup_1"}},
		// A number already taken is skipped.
		{[]string{"dup:", "dup?", "dup_0"}, []bool{false, false, false}, []string{"dup_1", "dup_2", "dup_0"}},
		// Names equal but for case are numbered too: Joliet readers
		// ignore case.
		{[]string{"ALLCAPS.TXT", "allcaps.txt", "Ünï", "üNÏ"}, []bool{false, false, false, false},
			[]string{"ALLCAPS0.TXT", "allcaps1.txt", "Ünï0", "üNÏ1"}},
		// Directories are numbered without an extension.
		{[]string{strings.Repeat("D", 70), strings.Repeat("D", 71)}, []bool{true, true},
			[]string{strings.Repeat("D", 63) + "0", strings.Repeat("D", 63) + "1"}},
	} {
		got := uniqueJolietNames(c.names, c.dirs, JolietChars)
		var s []string
		for _, g := range got {
			s = append(s, g.String())
		}
		if !slices.Equal(s, c.want) {
			t.Errorf("%q: %q, want %q", c.names, s, c.want)
		}
	}
	// Eleven equal names need two digits.
	var names []string
	var dirs []bool
	for _, c := range []string{":", "*", "?", ";", `\`, "\t", "\n", "\x01", "\x02", "\x03", "_"} {
		names = append(names, "x"+c+".txt")
		dirs = append(dirs, false)
	}
	slices.Sort(names)
	got := uniqueJolietNames(names, dirs, JolietChars)
	if got[0].String() != "x_00.txt" || got[10].String() != "x_10.txt" {
		t.Errorf("11 collisions: %v ... %v", got[0], got[10])
	}
	checkJolietNames(t, names, dirs, JolietChars, got)
}

// checkJolietNames checks what every Joliet name of a directory must be.
func checkJolietNames(t *testing.T, names []string, dirs []bool, max int, got []jolietName) {
	t.Helper()
	seen := map[string]string{}
	for i, g := range got {
		if len(g.units) == 0 {
			t.Errorf("%q: empty Joliet name", names[i])
		}
		// The limit does not count the separator.
		chars := len(g.units)
		if !dirs[i] && lastDot(g.units) >= 0 {
			chars--
		}
		if chars > max {
			t.Errorf("%q: Joliet name %q has %d characters, more than %d", names[i], g, chars, max)
		}
		if len(g.identifier()) > maxDirRecordLen-dirRecordFixedLen-1 {
			t.Errorf("%q: identifier of %d bytes does not fit a directory record", names[i], len(g.identifier()))
		}
		for _, u := range g.units {
			if jolietForbidden(u) || u >= 0xD800 && u <= 0xDFFF {
				t.Errorf("%q: Joliet name %q holds %#04x", names[i], g, u)
			}
		}
		if prev, dup := seen[foldKey(g.units)]; dup {
			t.Errorf("%q and %q both map to %q, ignoring case", prev, names[i], g)
		}
		seen[foldKey(g.units)] = names[i]
		if (g.String() != names[i]) != (g.reason != "") && utf8.ValidString(names[i]) {
			t.Errorf("%q: stored as %q with reason %q", names[i], g, g.reason)
		}
	}
}

func FuzzJolietNames(f *testing.F) {
	f.Add("a", "b", "c", false, false)
	f.Add("dup:", "dup?", "dup0", false, false)
	f.Add(strings.Repeat("n", 70)+".txt", strings.Repeat("n", 71)+".txt", "x", false, true)
	f.Add(strings.Repeat("D", 200), strings.Repeat("D", 201), "😀", true, false)
	f.Fuzz(func(t *testing.T, a, b, c string, dir, long bool) {
		max := JolietChars
		if long {
			max = JolietLongChars
		}
		var names []string
		for _, n := range []string{a, b, c} {
			if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") || len(n) > maxNameBytes || slices.Contains(names, n) {
				continue
			}
			names = append(names, n)
		}
		slices.Sort(names)
		dirs := make([]bool, len(names))
		for i := range dirs {
			dirs[i] = dir && i%2 == 0
		}
		got := uniqueJolietNames(names, dirs, max)
		checkJolietNames(t, names, dirs, max, got)
		again := uniqueJolietNames(names, dirs, max)
		for i := range got {
			if got[i].String() != again[i].String() {
				t.Fatalf("not deterministic: %q then %q", got[i], again[i])
			}
		}
	})
}

// TestJolietNamesLikeXorriso hands the same names to xorriso and compares
// the Joliet names it records (read back with isoinfo -J) with ours.
func TestJolietNamesLikeXorriso(t *testing.T) {
	long := strings.Repeat("A Very Long Mixed-Case Name", 5)
	files := []string{
		long + ".TxT", long + "x.TxT", `a:b*c?d;e\f.txt`, "emoji😀x.txt",
		strings.Repeat("n", 70), strings.Repeat("n", 70) + "." + strings.Repeat("e", 10),
		strings.Repeat("n", 10) + "." + strings.Repeat("e", 70), "x.y.", ".bashrc", "dup:", "dup?",
		"Mixed.Case.Name.tar.gz", "with spaces & odd #chars!.txt", strings.Repeat("q", 120) + ".tar.gz",
	}
	dirNames := []string{strings.Repeat("D", 70), strings.Repeat("D", 71), "Docs"}
	for _, long := range []bool{false, true} {
		src := t.TempDir()
		var names []string
		var dirs []bool
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(src, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			names, dirs = append(names, f), append(dirs, false)
		}
		for _, d := range dirNames {
			if err := os.Mkdir(filepath.Join(src, d), 0o755); err != nil {
				t.Fatal(err)
			}
			names, dirs = append(names, d), append(dirs, true)
		}
		idx := make([]int, len(names))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return strings.Compare(names[a], names[b]) })
		sortedNames, sortedDirs := make([]string, len(idx)), make([]bool, len(idx))
		for k, i := range idx {
			sortedNames[k], sortedDirs[k] = names[i], dirs[i]
		}
		max, compliance := JolietChars, "default"
		if long {
			max, compliance = JolietLongChars, "joliet_long_names"
		}
		var want []string
		for _, g := range uniqueJolietNames(sortedNames, sortedDirs, max) {
			want = append(want, "/"+g.String())
		}
		slices.Sort(want)

		img := filepath.Join(t.TempDir(), "x.iso")
		cmd := exec.Command(requireTool(t, "xorriso"), "-compliance", compliance, "-joliet", "on", "-outdev", img, "-map", src, "/")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xorriso: %v\n%s", err, out)
		}
		out, err := exec.Command(requireTool(t, "isoinfo"), "-J", "-f", "-i", img).Output()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSpace(string(out)), "\n")
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("long %v: xorriso's Joliet names\n%s\nours\n%s", long, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
