package protocol

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTTL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration // 0: refused
	}{
		{"15", 15 * time.Second},
		{"16", 16 * time.Second},
		{"60", 60 * time.Second},
		{"299", 299 * time.Second},
		{"300", 300 * time.Second},
		{"0060", 60 * time.Second}, // leading zeros are still decimal seconds
		{"14", 0},
		{"301", 0},
		{"0", 0},
		{"", 0},
		{"-60", 0},
		{"+60", 0},
		{" 60", 0},
		{"60 ", 0},
		{"60s", 0},
		{"60.0", 0},
		{"6e1", 0},
		{"abc", 0},
		{"٦٠", 0},    // Arabic-Indic digits are not ASCII digits
		{"00060", 0}, // a fifth digit, though the value is in range
		{"1000", 0},
		{"99999999999999999999", 0},
		{"18446744073709551676", 0}, // 2^64 + 60: must not wrap into range
		{"36028797018963983", 0},    // 2^64/512 + 15: wraps to 15 s in nanoseconds
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTTL(tc.in)
			if tc.want == 0 {
				var te *TTLError
				if err == nil || !errors.As(err, &te) || te.Input != tc.in {
					t.Fatalf("ParseTTL(%q) = %v, %v; want a *TTLError for it", tc.in, got, err)
				}
				if got != 0 || !strings.Contains(err.Error(), "from 15 to 300") {
					t.Errorf("ParseTTL(%q) = %v, %q", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseTTL(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestCheckTTL(t *testing.T) {
	for _, tc := range []struct {
		d  time.Duration
		ok bool
	}{
		{MinTTL, true},
		{MaxTTL, true},
		{DefaultTTL, true},
		{MinTTL - time.Second, false},
		{MaxTTL + time.Second, false},
		{MinTTL - time.Nanosecond, false},
		{20500 * time.Millisecond, false}, // not whole seconds
		{0, false},
		{-60 * time.Second, false},
	} {
		err := CheckTTL(tc.d)
		var te *TTLError
		if tc.ok != (err == nil) || (err != nil && (!errors.As(err, &te) || te.Input != tc.d.String())) {
			t.Errorf("CheckTTL(%v) = %v; want ok %v", tc.d, err, tc.ok)
		}
	}
}

func TestTTLErrorText(t *testing.T) {
	err := &TTLError{Input: "14"}
	if got := err.Error(); got != `ttl "14": must be whole seconds from 15 to 300` {
		t.Errorf("Error() = %q", got)
	}
}
