package bench

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Milliseconds is d in milliseconds, for the results tables.
func Milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Summary formats the runs' values of one figure as "median (min–max)",
// each with format; a single value alone, and none as "failed".
func Summary(xs []float64, format string) string {
	if len(xs) == 0 {
		return "failed"
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if len(s) == 1 {
		return fmt.Sprintf(format, med)
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", med, s[0], s[len(s)-1])
}

// WriteResults replaces the block of results that tool (relaybench,
// edgebench) wrote into file earlier, between its markers, with table; or,
// when there is none yet, appends a section named section holding one.
func WriteResults(file, tool, section, table string) error {
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	begin, end := "<!-- "+tool+":results -->", "<!-- /"+tool+":results -->"
	s := string(old)
	block := begin + "\n" + table + end
	if i, j := strings.Index(s, begin), strings.Index(s, end); i >= 0 && j > i {
		s = s[:i] + block + s[j+len(end):]
	} else {
		if s == "" {
			s = "# Benchmarks\n"
		}
		s += "\n## " + section + "\n\n" + block + "\n"
	}
	return os.WriteFile(file, []byte(s), 0o644)
}
