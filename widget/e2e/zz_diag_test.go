//go:build !js

package e2e

import (
	"testing"
)

func TestDiag(t *testing.T) {
	s := newSite(t)
	for _, iso := range []bool{true, false} {
		w, err := warmLoads(s, loopback, iso)
		t.Logf("warm iso=%v %v %v", iso, w, err)
		c, err := coldLoad(s, loopback, iso)
		t.Logf("cold iso=%v %v %v", iso, c, err)
	}
}
