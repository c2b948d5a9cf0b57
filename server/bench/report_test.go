package bench

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteResults(t *testing.T) {
	file := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := WriteResults(file, "edgebench", "Edge", "first\n"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append(must(t, file), "\n## After\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteResults(file, "edgebench", "Edge", "second\n"); err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\n## Edge\n\n<!-- edgebench:results -->\nsecond\n<!-- /edgebench:results -->\n\n## After\n"
	if got := string(must(t, file)); got != want {
		t.Errorf("after two writes:\n%s\nwant:\n%s", got, want)
	}
}

func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want string
	}{
		{nil, "failed"},
		{[]float64{2}, "2.0"},
		{[]float64{3, 1, 2}, "2.0 (1.0–3.0)"},
		{[]float64{4, 1, 2, 3}, "2.5 (1.0–4.0)"},
	} {
		if got := Summary(tc.in, "%.1f"); got != tc.want {
			t.Errorf("Summary(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func must(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
